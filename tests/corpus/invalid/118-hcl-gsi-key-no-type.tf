# A GSI key that no attribute declares has no type (the module does not check).
# expect: error 12 global_secondary_indexes[0].hash_key | key attribute 'email' has no type
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes    = [{ name = "PK", type = "S" }]
  global_secondary_indexes = [
    {
      name               = "ByEmail"
      hash_key           = "email"
      projection_type    = "ALL"
      non_key_attributes = []
    }
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
