# The module's partition_key_type and sort_key_type validations: S, N or B.
# expect: error 9 partition_key_type | 'STRING' is not allowed | hint: S (string), N (number) or B (binary)
# expect: error 11 sort_key_type | 'X' is not allowed | hint: S (string), N (number) or B (binary)
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name         = "orders"
  partition_key      = "PK"
  partition_key_type = "STRING"
  sort_key           = "SK"
  sort_key_type      = "X"
  tags = {
    Environment = "dev"
    Project     = "corpus"
    Owner       = "qa"
    CostCenter  = "cc-1"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
