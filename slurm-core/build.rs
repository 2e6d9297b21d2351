//! Generates the gRPC clients and servers of the controller's two services and the
//! accounting daemon's. The message types
//! are plain Rust (serde) types in `src/proto/messages.rs`; they travel with the JSON codec in
//! `src/proto/codec.rs` (`application/grpc+json`), so the model has one definition.

use tonic_build::manual::{Builder, Method, Service};

const CODEC: &str = "crate::proto::codec::JsonCodec";

fn method(name: &str, route: &str, input: &str, output: &str) -> Method {
    Method::builder()
        .name(name)
        .route_name(route)
        .input_type(format!("crate::proto::Authed<crate::proto::{input}>"))
        .output_type(format!("crate::proto::{output}"))
        .codec_path(CODEC)
        .build()
}

fn main() {
    let slurmctld = Service::builder()
        .name("Slurmctld")
        .package("slinky.v1")
        .comment("What the commands (sbatch, squeue, scancel, ...) ask of the controller.")
        .method(method("submit", "Submit", "SubmitRequest", "SubmitReply"))
        .method(method("list_jobs", "ListJobs", "JobQuery", "JobList"))
        .method(method(
            "cluster_info",
            "ClusterInfo",
            "ClusterQuery",
            "ClusterInfo",
        ))
        .method(method(
            "cancel",
            "Cancel",
            "CancelRequest",
            "TargetOutcomes",
        ))
        .method(method(
            "control_jobs",
            "ControlJobs",
            "JobControlRequest",
            "TargetOutcomes",
        ))
        .method(method(
            "update_nodes",
            "UpdateNodes",
            "NodeUpdateRequest",
            "NodeOutcomes",
        ))
        .method(method(
            "show_config",
            "ShowConfig",
            "ConfigQuery",
            "ConfigReply",
        ))
        .method(
            Method::builder()
                .name("watch_power")
                .route_name("WatchPower")
                .input_type("crate::proto::Authed<crate::proto::PowerWatchRequest>")
                .output_type("crate::proto::PowerEvent")
                .codec_path(CODEC)
                .server_streaming()
                .build(),
        )
        .method(method("stat_steps", "StatSteps", "StatQuery", "StatReply"))
        .build();
    let agents = Service::builder()
        .name("SlurmdGateway")
        .package("slinky.v1")
        .comment("What worker agents (slurmd) tell the controller, and the stream of work it sends them.")
        .method(method("register", "Register", "NodeRegistration", "RegisterReply"))
        .method(
            Method::builder()
                .name("commands")
                .route_name("Commands")
                .input_type("crate::proto::Authed<crate::proto::CommandStreamRequest>")
                .output_type("crate::proto::AgentCommand")
                .codec_path(CODEC)
                .server_streaming()
                .build(),
        )
        .method(method("heartbeat", "Heartbeat", "Heartbeat", "HeartbeatReply"))
        .method(method("report_job", "ReportJob", "JobReport", "Ack"))
        .build();
    let dbd = Service::builder()
        .name("SlurmDbd")
        .package("slinky.v1")
        .comment("The accounting daemon (slurmdbd): job records from the controller, queries from sacct.")
        .method(method(
            "record_jobs",
            "RecordJobs",
            "RecordJobsRequest",
            "RecordJobsReply",
        ))
        .method(method("query_jobs", "QueryJobs", "AcctJobQuery", "AcctJobList"))
        .method(method("modify_accounting", "ModifyAccounting", "MgrRequest", "MgrReply"))
        .method(method("show_accounting", "ShowAccounting", "MgrQuery", "MgrList"))
        .method(method("query_usage", "QueryUsage", "UsageQuery", "UsageReport"))
        .method(method("query_job_sizes", "QueryJobSizes", "JobSizesQuery", "JobSizes"))
        .method(method("query_shares", "QueryShares", "SharesQuery", "SharesReply"))
        .method(method("record_capacity", "RecordCapacity", "CapacityRecord", "Ack"))
        .method(method("query_events", "QueryEvents", "EventQuery", "EventList"))
        .build();
    let steps = Service::builder()
        .name("SlurmSteps")
        .package("slinky.v1")
        .comment("Job steps: allocations without a batch script (srun, salloc), steps in them, and agents' step reports.")
        .method(method("allocate", "Allocate", "AllocateRequest", "SubmitReply"))
        .method(method("create_step", "CreateStep", "StepRequest", "StepReply"))
        .method(method("release_allocation", "ReleaseAllocation", "ReleaseRequest", "Ack"))
        .method(method("report_step", "ReportStep", "StepReport", "Ack"))
        .method(method("cancel_steps", "CancelSteps", "CancelStepsRequest", "TargetOutcomes"))
        .method(
            Method::builder()
                .name("hold_allocation")
                .route_name("HoldAllocation")
                .input_type("crate::proto::Authed<crate::proto::HoldRequest>")
                .output_type("crate::proto::Ack")
                .codec_path(CODEC)
                .server_streaming()
                .build(),
        )
        .build();
    let step_io = Service::builder()
        .name("StepIo")
        .package("slinky.v1")
        .comment("Served by srun: each node's agent streams its tasks' output and exits, srun sends stdin and signals.")
        .method(
            Method::builder()
                .name("attach")
                .route_name("Attach")
                .input_type("crate::proto::StepIoUp")
                .output_type("crate::proto::StepIoDown")
                .codec_path(CODEC)
                .client_streaming()
                .server_streaming()
                .build(),
        )
        .build();
    Builder::new().compile(&[slurmctld, agents, dbd, steps, step_io]);
}
