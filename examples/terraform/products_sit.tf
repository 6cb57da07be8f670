module "products_table" {
  source = "./modules/dynamodb_table"

  table_name          = "products"
  partition_key       = "PK"
  partition_key_type  = "S"
  sort_key            = "SK"
  sort_key_type       = "S"

  attributes = [
    { name = "PK", type = "S" },
    { name = "SK", type = "S" },
    { name = "active", type = "S" },
    { name = "dateCreated", type = "S" }
  ]

  # Global Secondary Indexes
  global_secondary_indexes = [
    {
      name               = "ProductActiveIndex"
      hash_key           = "active"
      range_key          = "dateCreated"
      projection_type    = "ALL"
      non_key_attributes = []
    },
    {
      name               = "ActiveIndex"
      hash_key           = "active"
      range_key          = "dateCreated"
      projection_type    = "KEYS_ONLY"
      non_key_attributes = []
    }
  ]

  # SIT environment settings
  enable_backup              = true
  backup_retention_days      = 14
  backup_schedule            = "cron(0 2 * * ? *)" # Daily at 2 AM UTC
  enable_deletion_protection = false
  enable_replication         = false

  tags = {
    Environment = "sit"
    Project     = "BBWS WP Containers"
    Owner       = "Tebogo"
    CostCenter  = "AWS"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
