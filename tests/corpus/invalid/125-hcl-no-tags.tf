# A module block without tags at all: its environment is unknown.
# expect: error 3 tags.Environment | the module block has no tags.Environment | hint: Environment
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes    = [{ name = "PK", type = "S" }]
}
