# Without tags.Environment the module block's environment is unknown (reported at its tags).
# (regression case: this was a validation bug, now fixed)
# expect: error 10 tags.Environment | the module block has no tags.Environment
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes    = [{ name = "PK", type = "S" }]
  tags = {
    Project    = "corpus"
    Owner      = "qa"
    CostCenter = "cc-1"
    ManagedBy  = "Terraform"
    Component  = "dynamodb"
  }
}
