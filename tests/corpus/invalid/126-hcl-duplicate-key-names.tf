# The module's blocks get the same key-schema and projection rules: a sort key that is the
# partition key, a range key that is the hash key, an attribute projected twice.
# expect: error 10 sort_key | the sort key 'PK' is also the partition key
# expect: error 12 global_secondary_indexes[0].non_key_attributes[1] | 't' is listed twice
# expect: error 12 global_secondary_indexes[0].range_key.name | index 'ByA': the range key 'a' is also its hash key
module "orders" {
  source = "./modules/dynamodb_table"
  table_name = "orders"
  partition_key = "PK"
  sort_key = "PK"
  global_secondary_indexes = [
    { name = "ByA", hash_key = "a", range_key = "a", projection_type = "INCLUDE", non_key_attributes = ["t", "t"] },
  ]
  attributes = [{ name = "PK", type = "S" }, { name = "a", type = "S" }]
  tags = { Environment = "dev", Project = "p", Owner = "o", CostCenter = "c", ManagedBy = "m", Component = "c" }
}
