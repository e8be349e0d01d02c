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
