module "tenants_table" {
  source = "./modules/dynamodb_table"

  # Required variables
  table_name          = "tenants"
  partition_key       = "PK"
  partition_key_type  = "S"
  sort_key            = "SK"
  sort_key_type       = "S"

  # Attributes (all keys used in table and GSIs)
  attributes = [
    { name = "PK", type = "S" },
    { name = "SK", type = "S" },
    { name = "email", type = "S" },
    { name = "entityType", type = "S" }
  ]

  # No GSIs for basic table
  global_secondary_indexes = []

  # DEV environment settings
  enable_backup              = true
  backup_retention_days      = 7
  enable_deletion_protection = false
  enable_replication         = false

  # Mandatory tags
  tags = {
    Environment = "dev"
    Project     = "BBWS WP Containers"
    Owner       = "Tebogo"
    CostCenter  = "AWS"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
