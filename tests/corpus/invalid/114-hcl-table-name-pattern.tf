# The module's table_name validation: ^[a-z][a-z0-9_]*$.
# expect: error 6 table_name | table name 'Orders-Table' does not match the naming convention
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "Orders-Table"
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
