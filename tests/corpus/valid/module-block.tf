# A module block of the reference Terraform module that uses every attribute it declares.
module "products_table" {
  source = "./modules/dynamodb_table"

  table_name         = "products"
  partition_key      = "PK"
  partition_key_type = "S"
  sort_key           = "SK"
  sort_key_type      = "S"

  attributes = [
    { name = "PK", type = "S" },
    { name = "SK", type = "S" },
    { name = "active", type = "S" },
    { name = "dateCreated", type = "S" }
  ]

  global_secondary_indexes = [
    {
      name               = "ProductActiveIndex"
      hash_key           = "active"
      range_key          = "dateCreated"
      projection_type    = "INCLUDE"
      non_key_attributes = ["title"]
    }
  ]

  enable_backup         = true
  backup_retention_days = 90
  backup_schedule       = "cron(0 */1 * * ? *)"
  enable_replication    = true
  replica_region        = "eu-west-1"
  ttl_enabled           = true
  ttl_attribute_name    = "expiryTime"

  tags = {
    Environment = "prod"
    Project     = "BBWS WP Containers"
    Owner       = "Tebogo"
    CostCenter  = "AWS"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
