# An HCL syntax error is reported at its line.
# expect: error 7 (syntax) | invalid HCL
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = = "PK"
}
