# A Terraform expression cannot be evaluated: it is reported, and its variable left out.
# expect: error 9 backup_retention_days | 'var.retention_days' is a reference: tablesmith reads literal values only
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes            = [{ name = "PK", type = "S" }]
  backup_retention_days = var.retention_days
  tags = {
    Environment = "dev"
    Project     = "corpus"
    Owner       = "qa"
    CostCenter  = "cc-1"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
