# A variable set twice in one module block.
# expect: error 8 table_name | duplicate variable 'table_name'
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  table_name    = "invoices"
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
