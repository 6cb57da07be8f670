module "campaigns_table" {
  source = "./modules/dynamodb_table"

  table_name          = "campaigns"
  partition_key       = "PK"
  partition_key_type  = "S"
  sort_key            = "SK"
  sort_key_type       = "S"

  attributes = [
    { name = "PK", type = "S" },
    { name = "SK", type = "S" },
    { name = "active", type = "S" },
    { name = "fromDate", type = "S" },
    { name = "productId", type = "S" }
  ]

  global_secondary_indexes = [
    {
      name               = "CampaignActiveIndex"
      hash_key           = "active"
      range_key          = "fromDate"
      projection_type    = "ALL"
      non_key_attributes = []
    },
    {
      name               = "CampaignProductIndex"
      hash_key           = "productId"
      range_key          = "fromDate"
      projection_type    = "ALL"
      non_key_attributes = []
    }
  ]

  # PROD environment settings
  enable_backup              = true
  backup_retention_days      = 90
  backup_schedule            = "cron(0 */1 * * ? *)" # Hourly backups
  enable_deletion_protection = true
  enable_replication         = true
  replica_region             = "eu-west-1" # DR region: Ireland

  tags = {
    Environment  = "prod"
    Project      = "BBWS WP Containers"
    Owner        = "Tebogo"
    CostCenter   = "AWS"
    ManagedBy    = "Terraform"
    Component    = "dynamodb"
    DR           = "enabled"
    BackupPolicy = "hourly"
  }
}
