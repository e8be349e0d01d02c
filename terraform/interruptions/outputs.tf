# Named as terraform/jenkins names its own queue's output: `provisioner init` takes the
# interruption_queue_url of every --outputs it is given, one per region, into interruptions.queues.
output "interruption_queue_url" {
  description = "One of fleet.yaml interruptions.queues: the queue of this region's Spot notices."
  value       = module.interruption_queue.queue_url
}
