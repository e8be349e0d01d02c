output "deploy_role_arn" {
  description = "The deploy role: the iamRoleArn of the Jenkins credential the deploy branch applies with."
  value       = aws_iam_role.deploy.arn
}

output "plan_role_arn" {
  description = "The read-only plan role: the iamRoleArn of the Jenkins credential pull requests plan with."
  value       = aws_iam_role.plan.arn
}

output "boundary_policy_arn" {
  description = "The permissions boundary every role the deploy role creates must carry."
  value       = aws_iam_policy.boundary.arn
}
