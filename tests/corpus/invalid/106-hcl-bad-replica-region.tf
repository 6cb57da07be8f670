# The module's replica_region validation.
# expect: error 10 replica_region | 'eu_west_1' is not an AWS region name | hint: eu-west-1
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes         = [{ name = "PK", type = "S" }]
  enable_replication = true
  replica_region     = "eu_west_1"
  tags = {
    Environment = "prod"
    Project     = "corpus"
    Owner       = "qa"
    CostCenter  = "cc-1"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
