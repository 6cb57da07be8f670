# Replication (a global table) needs streams on, with NEW_AND_OLD_IMAGES.
# expect: error 9 stream_enabled | replicas (global tables) require streams
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes         = [{ name = "PK", type = "S" }]
  stream_enabled     = false
  enable_replication = true
  tags = {
    Environment = "prod"
    Project     = "corpus"
    Owner       = "qa"
    CostCenter  = "cc-1"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
