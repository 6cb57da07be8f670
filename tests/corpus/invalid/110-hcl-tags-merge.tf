# tags = merge(...) is reported once, as an expression (not again as a missing Environment).
# (regression case: this was a validation bug, now fixed)
# expect: error 10 tags | is a function call: tablesmith reads literal values only
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes    = [{ name = "PK", type = "S" }]
  tags          = merge(var.common_tags, { Environment = "dev" })
}
