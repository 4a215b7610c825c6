import ServerGuard

/// Every metric family the control plane exports, with what it means (the `# HELP` text). docs/operations.md lists
/// the same names; deploy/grafana/emp-dashboard.json uses them; a test checks all three agree.
public enum MetricCatalog {
    public static let help: [String: String] = [
        "emp_hosts": "Hosts of a pool by state (ready, notReady, lost, cordoned, maintenance), sampled once a minute.",
        "emp_evms": "EVMs of a pool by phase, sampled once a minute.",
        "emp_host_cpu_limit_cores": "A host's CPU allocation limit: capacity times the pool's CPU overcommit, in cores.",
        "emp_host_cpu_allocated_cores": "CPU allocated to EVMs on a host, in cores.",
        "emp_host_cpu_used_cores": "CPU the host's EVMs use (agent reports), in cores.",
        "emp_host_memory_limit_bytes": "A host's memory allocation limit: capacity times the pool's memory overcommit.",
        "emp_host_memory_allocated_bytes": "Memory allocated to EVMs on a host.",
        "emp_host_memory_used_bytes": "Resident memory of the host's EVMs (agent reports).",
        "emp_evm_memory_rss_bytes": "Resident memory of an EVM's QEMU process.",
        "emp_evm_cpu_used_cores": "CPU an EVM used over the last report interval, in cores.",
        "emp_evm_cpu_steal_cores": "Time an EVM's vCPUs were runnable but not running (steal) over the last report interval, in cores.",
        "emp_evm_guest_swap_in_bytes": "Bytes the guest swapped in since it booted (virtio balloon statistics).",
        "emp_evm_guest_swap_out_bytes": "Bytes the guest swapped out since it booted (virtio balloon statistics).",
        "emp_evm_guest_memory_unused_bytes": "Memory the guest leaves unused (virtio balloon statistics).",
        "emp_evm_guest_memory_available_bytes": "Memory the guest could use without swapping (virtio balloon statistics).",
        "emp_leader": "1 while this replica leads the control plane (PostgreSQL store), 0 while it follows.",
        "emp_leader_transitions_total": "Times this replica became leader or stepped down, by to (leader, follower).",
        "emp_hosts_launched_total": "Machines a host provider launched, by provider (ec2, command).",
        "emp_hosts_terminated_total": "Machines EMP gave back, by provider and reason (empty, join_timeout).",
        "emp_host_launch_to_join_seconds": "Seconds from a machine's launch until its agent joined, per pool.",
        "emp_autoscaler_pending_candidates": "Pending pods the autoscaler could place on a new EVM.",
        "emp_autoscaler_ticks_total":
            "Autoscaler ticks by outcome: pass=run (something changed, a timer was due or the periodic full pass) or pass=skipped.",
        "emp_autoscaler_decisions_total": "Autoscaler decisions by pool and action (scale_up, scale_down, minimum, warm_refill, none).",
        "emp_autoscaler_decision_seconds": "How long one scale-up decision took.",
        "emp_evm_boot_timeouts_total": "EVMs replaced because their Node was not Ready within the boot timeout.",
        "emp_warm_claims_total": "Warm EVMs handed to pending pods.",
        "emp_evms_lost_total": "EVMs written off with a lost host.",
        "emp_hosts_lost_total": "Hosts declared lost (silent past hostLostAfter).",
        "emp_rebalancer_planned_moves": "Migrations in the rebalancer's latest plan.",
        "emp_migrations_started_total": "Live migrations started, by reason.",
        "emp_migrations_completed_total": "Live migrations completed, by reason.",
        "emp_migrations_failed_total": "Live migrations failed, by reason.",
        "emp_migration_duration_seconds": "Duration of completed live migrations, from the destination's prepared to completion.",
        "emp_migration_transferred_bytes_total": "Bytes moved by completed live migrations.",
        "emp_soft_state_flushed_total": "Heartbeats and usage figures written to the store by the soft-state flusher.",
        "emp_api_request_duration_seconds": "API and console answer latency by route template, method and status.",
        "emp_pool_hosts_cost_dollars_per_hour": "What a pool's hosts cost per hour (list price or configured cost), US dollars.",
        "emp_pool_instances_cost_dollars_per_hour":
            "What a pool's running EVMs would cost per hour as on-demand instances of their size, US dollars.",
        "emp_pool_savings_dollars_per_hour": "Instances' cost minus hosts' cost per hour (an estimate from list prices), US dollars.",
        "emp_pool_savings_dollars": "The saving summed since the pool's first sample (an estimate from list prices), US dollars.",
    ]

    static func annotate(_ exposition: String) -> String { MetricHelp.annotate(exposition, help: help) }
}
