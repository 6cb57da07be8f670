# backup_schedule is AWS cron, six fields (the module does not check it).
# expect: error 10 backup_schedule | has 5 field(s) | hint: cron(0 2 * * ? *)
module "orders_table" {
  source = "./modules/dynamodb_table"

  table_name    = "orders"
  partition_key = "PK"
  attributes      = [{ name = "PK", type = "S" }]
  enable_backup   = true
  backup_schedule = "cron(0 2 * * *)"
  tags = {
    Environment = "dev"
    Project     = "corpus"
    Owner       = "qa"
    CostCenter  = "cc-1"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
