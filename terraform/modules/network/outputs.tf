output "vpc_id" {
  description = "Id of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 range of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "The two public subnets (load balancers and NAT gateways only), one per availability zone."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "The two private subnets (instances, tasks, databases), one per availability zone."
  value       = aws_subnet.private[*].id
}

output "availability_zones" {
  description = "The two availability zones, in the order of the subnet lists."
  value       = local.zones
}

output "flow_log_group_name" {
  description = "CloudWatch log group that receives the VPC flow logs."
  value       = aws_cloudwatch_log_group.flow.name
}

output "public_subnet_cidr_blocks" {
  description = "IPv4 ranges of the two public subnets (where load balancer nodes live)."
  value       = aws_subnet.public[*].cidr_block
}

output "interface_endpoints" {
  description = "Services reached through an interface endpoint in the private subnets (S3 through a gateway endpoint besides)."
  value       = keys(aws_vpc_endpoint.interface)
}

output "endpoint_security_group_id" {
  description = "Security group of the interface endpoints (HTTPS from the VPC); null when there are none."
  value       = length(aws_security_group.endpoints) > 0 ? aws_security_group.endpoints[0].id : null
}

output "gateway_prefix_list_ids" {
  description = "Prefix lists of the S3 and DynamoDB gateway endpoints, for security group egress rules."
  value       = { s3 = aws_vpc_endpoint.s3.prefix_list_id, dynamodb = aws_vpc_endpoint.dynamodb.prefix_list_id }
}
