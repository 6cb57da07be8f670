# The module's backup_retention_days validation: 1 to 365.
# expect: error 9 backup_retention_days | retention_days is 400: keep backups 1 to 365 days | no hint
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes            = [{ name = "PK", type = "S" }]
  backup_retention_days = 400
  tags = {
    Environment = "dev"
    Project     = "corpus"
    Owner       = "qa"
    CostCenter  = "cc-1"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
