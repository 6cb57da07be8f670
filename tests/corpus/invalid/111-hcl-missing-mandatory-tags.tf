# The module's mandatory tags.
# expect: error 9 tags | missing mandatory tag(s): Owner, CostCenter, ManagedBy, Component
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes    = [{ name = "PK", type = "S" }]
  tags = {
    Environment = "sit"
    Project     = "corpus"
  }
}
