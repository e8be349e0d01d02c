# The interruption queue of a region beside terraform/jenkins's own: EventBridge rules are regional
# (EC2 sends a Spot instance's notices to EventBridge in the instance's region), so a fleet with
# Spot pools in another region needs a queue there too. Applied once per such region, each into
# its own state; terraform/jenkins's `spot_regions` lets the provisioner read the queue made here
# (it has the same name in every region), and `provisioner init` writes its URL into
# fleet.yaml `interruptions.queues` beside the main region's.
module "interruption_queue" {
  source = "../modules/interruption-queue"

  fleet                     = var.fleet
  message_retention_seconds = var.message_retention_seconds
  tags                      = var.tags
}
