# The module allows only PAY_PER_REQUEST billing.
# expect: error 9 billing_mode | 'PROVISIONED' is not allowed | hint: PAY_PER_REQUEST
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes    = [{ name = "PK", type = "S" }]
  billing_mode  = "PROVISIONED"
  tags = {
    Environment = "dev"
    Project     = "corpus"
    Owner       = "qa"
    CostCenter  = "cc-1"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
