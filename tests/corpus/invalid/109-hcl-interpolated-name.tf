# An interpolated table_name is reported once, as an expression (not a second time as missing).
# (regression case: this was a validation bug, now fixed)
# expect: error 7 table_name | is an interpolation: tablesmith reads literal values only
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "${var.prefix}orders"
  partition_key = "PK"
  attributes    = [{ name = "PK", type = "S" }]
  tags = {
    Environment = "dev"
    Project     = "corpus"
    Owner       = "qa"
    CostCenter  = "cc-1"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
