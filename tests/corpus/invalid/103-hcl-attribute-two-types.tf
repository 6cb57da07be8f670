# One attribute declared twice, with two types.
# expect: error 11 attributes[2] | attribute 'status' is declared with two types: 'S' and 'N'
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes = [
    { name = "PK", type = "S" },
    { name = "status", type = "S" },
    { name = "status", type = "N" },
  ]
  global_secondary_indexes = [
    { name = "ByStatus", hash_key = "status", projection_type = "ALL", non_key_attributes = [] },
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
