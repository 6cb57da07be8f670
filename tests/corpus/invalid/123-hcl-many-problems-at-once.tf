# Every problem of every module block is reported at once; other blocks are ignored.
# expect: error 21 table_name | table name 'Orders' does not match the naming convention
# expect: error 23 partition_key_type | 'STRING' is not allowed
# expect: error 25 billing_mode | 'PROVISIONED' is not allowed
# expect: error 26 backup_schedule | exactly one of day-of-month and day-of-week must be '?'
# expect: error 27 tags | missing mandatory tag(s): Owner, CostCenter, ManagedBy, Component
# expect: error 37 enable_backups | unknown variable 'enable_backups' | hint: did you mean 'enable_backup'?
# expect: error 39 replica_region | 'eu_west_1' is not an AWS region name
# expect: error 45 global_secondary_indexes[0].projection_type | 'SOME' is not allowed
# expect: error 47 point_in_time_recovery | must be true or false, not 'yes'
provider "aws" {
  region = "af-south-1"
}

resource "aws_sns_topic" "alarms" {
  name = "dynamodb-alarms"
}

module "orders_table" {
  source             = "./modules/dynamodb_table"
  table_name         = "Orders"
  partition_key      = "PK"
  partition_key_type = "STRING"
  attributes         = [{ name = "PK", type = "S" }]
  billing_mode       = "PROVISIONED"
  backup_schedule    = "cron(0 2 * * * *)"
  tags = {
    Environment = "dev"
    Project     = "corpus"
  }
}

module "invoices_table" {
  source             = "./modules/dynamodb_table"
  table_name         = "invoices"
  partition_key      = "PK"
  enable_backups     = true
  enable_replication = true
  replica_region     = "eu_west_1"
  attributes = [
    { name = "PK", type = "S" },
    { name = "status", type = "S" },
  ]
  global_secondary_indexes = [
    { name = "ByStatus", hash_key = "status", projection_type = "SOME", non_key_attributes = [] },
  ]
  point_in_time_recovery = "yes"
  tags = {
    Environment = "prod"
    Project     = "corpus"
    Owner       = "qa"
    CostCenter  = "cc-1"
    ManagedBy   = "Terraform"
    Component   = "dynamodb"
  }
}
