# The same unused attributes with strict=True: each warning becomes an error.
# strict: true
# expect: error 14 attributes[2] | attribute 'email' is declared but no key or index uses it
# expect: error 15 attributes[3] | attribute 'entityType' is declared but no key or index uses it
module "tenants_table" {
  source = "./modules/dynamodb_table"

  table_name    = "tenants"
  partition_key = "PK"
  sort_key      = "SK"
  attributes = [
    { name = "PK", type = "S" },
    { name = "SK", type = "S" },
    { name = "email", type = "S" },
    { name = "entityType", type = "S" }
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
