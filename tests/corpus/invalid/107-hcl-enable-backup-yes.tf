# A string for a bool: enable_backup = "yes".
# expect: error 9 enable_backup | must be true or false, not 'yes' | hint: without quotes
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes    = [{ name = "PK", type = "S" }]
  enable_backup = "yes"
  tags = {
    Environment = "dev"
    Project     = "corpus"
    Owner       = "qa"
    CostCenter  = "cc-1"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
