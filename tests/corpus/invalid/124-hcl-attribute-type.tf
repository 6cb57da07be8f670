# The module's attributes validation: every type S, N or B.
# (regression case: this was a validation bug, now fixed)
# expect: error 10 attributes[0] | 'STRING' is not allowed | hint: S (string), N (number) or B (binary)
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes = [
    { name = "PK", type = "STRING" },
  ]
  tags = {
    Environment = "dev"
    Project     = "corpus"
    Owner       = "qa"
    CostCenter  = "cc-1"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
