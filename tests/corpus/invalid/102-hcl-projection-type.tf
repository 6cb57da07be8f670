# The module's projection_type validation, reported at the index in the list.
# expect: error 22 global_secondary_indexes[1].projection_type | 'SOME' is not allowed | hint: ALL, KEYS_ONLY or INCLUDE
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes = [
    { name = "PK", type = "S" },
    { name = "status", type = "S" },
  ]
  global_secondary_indexes = [
    {
      name            = "ByStatus"
      hash_key        = "status"
      projection_type = "ALL"
    },
    {
      name            = "ByStatusKeys"
      hash_key        = "status"
      range_key       = null
      projection_type = "SOME"
    },
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
