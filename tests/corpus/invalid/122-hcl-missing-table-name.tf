# table_name is a required variable of the module.
# expect: error 3 table_name | 'table_name' is required | no hint
module "orders_table" {
  source = "./modules/dynamodb_table"

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
