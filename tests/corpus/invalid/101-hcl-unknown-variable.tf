# An unknown module variable, with a did-you-mean hint.
# expect: error 9 enable_backups | unknown variable 'enable_backups' | hint: did you mean 'enable_backup'?
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes    = [{ name = "PK", type = "S" }]
  enable_backups = true
  tags = {
    Environment = "dev"
    Project     = "corpus"
    Owner       = "qa"
    CostCenter  = "cc-1"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
