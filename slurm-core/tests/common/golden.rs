//! The golden samples: Slurm 22.05's own output, copied from `/work/shared/golden/*.txt`
//! (first line the command, second its exit status, then the output) and embedded so the
//! tests run anywhere. [`check_embedded_copies`] compares the copies with the shared files
//! when the directory is there.
//!
//! The captures collapsed trailing blank lines: Slurm ends every `scontrol show` record with a
//! blank line, which the samples show once at most.

/// A sample's output (without its two `#` lines) and exit status (255 when the status line
/// is unreadable).
pub fn sample(name: &str) -> (&'static str, u8) {
    let text = GOLDEN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or_else(|| panic!("no golden {name}"));
    let mut lines = text.splitn(3, '\n');
    let _command = lines.next();
    let exit = lines
        .next()
        .and_then(|l| l.strip_prefix("# exit="))
        .and_then(|c| c.parse().ok())
        .unwrap_or(255);
    (lines.next().unwrap_or(""), exit)
}

/// Checks every embedded copy against `/work/shared/golden` when that directory is there.
pub fn check_embedded_copies() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden");
    if !dir.is_dir() {
        return;
    }
    for (name, text) in GOLDEN {
        let path = dir.join(format!("{name}.txt"));
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            &on_disk,
            text,
            "{} differs from the embedded copy",
            path.display()
        );
    }
}

/// The samples (name, full file contents).
pub const GOLDEN: &[(&str, &str)] = &[
    (
        "sacct",
        r#"# $ sacct
# exit=0
JobID           JobName  Partition    Account  AllocCPUS      State ExitCode 
------------ ---------- ---------- ---------- ---------- ---------- -------- 
1                  wrap      debug       root          1    RUNNING      0:0 
1.batch           batch                  root          1    RUNNING      0:0 
2                  wrap      debug       root          1    RUNNING      0:0 
2.batch           batch                  root          1    RUNNING      0:0 
3                 myjob      debug       root          2    RUNNING      0:0 
3.batch           batch                  root          2    RUNNING      0:0 
4                  wrap      debug    physics          1    RUNNING      0:0 
4.batch           batch               physics          1    RUNNING      0:0 
5                  wrap      debug    physics          1    PENDING      0:0 
6                  wrap      debug    physics          1    RUNNING      0:0 
6.batch           batch               physics          1    RUNNING      0:0 
7                  wrap      debug    physics          1    PENDING      0:0 
8                bigjob      debug       root         64    PENDING      0:0 
9               bigjob2      debug       root         64    PENDING      0:0 
10                 held      debug       root          1    PENDING      0:0 
13             downpart      maint       root          1    PENDING      0:0 
14                   ok      debug       root          1  COMPLETED      0:0 
14.batch          batch                  root          1  COMPLETED      0:0 
15                fails      debug       root          1     FAILED      3:0 
15.batch          batch                  root          1     FAILED      3:0 
17             hostname      debug       root          1  COMPLETED      0:0 
17.0           hostname                  root          1  COMPLETED      0:0 
"#,
    ),
    (
        "sacct_alice",
        r#"# $ runuser -u alice -- sacct -X -o JobID,JobName,User,Account,State,Reason%20
# exit=0
JobID           JobName      User    Account      State               Reason 
------------ ---------- --------- ---------- ---------- -------------------- 
4                  wrap     alice    physics    RUNNING                 None 
5                  wrap     alice    physics    PENDING                 None 
"#,
    ),
    (
        "sacct_all",
        r#"# $ sacct -a -X
# exit=0
JobID           JobName  Partition    Account  AllocCPUS      State ExitCode 
------------ ---------- ---------- ---------- ---------- ---------- -------- 
1                  wrap      debug       root          1    RUNNING      0:0 
2                  wrap      debug       root          1    RUNNING      0:0 
3                 myjob      debug       root          2    RUNNING      0:0 
4                  wrap      debug    physics          1    RUNNING      0:0 
5                  wrap      debug    physics          1    PENDING      0:0 
6                  wrap      debug    physics          1    RUNNING      0:0 
7                  wrap      debug    physics          1    PENDING      0:0 
8                bigjob      debug       root         64    PENDING      0:0 
9               bigjob2      debug       root         64    PENDING      0:0 
10                 held      debug       root          1    PENDING      0:0 
13             downpart      maint       root          1    PENDING      0:0 
14                   ok      debug       root          1  COMPLETED      0:0 
15                fails      debug       root          1     FAILED      3:0 
17             hostname      debug       root          1  COMPLETED      0:0 
"#,
    ),
    (
        "sacct_parsable2",
        r#"# $ sacct --parsable2 -o JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode,Elapsed,MaxRSS
# exit=0
JobID|JobName|Partition|Account|AllocCPUS|State|ExitCode|Elapsed|MaxRSS
1|wrap|debug|root|1|RUNNING|0:0|00:00:35|
1.batch|batch||root|1|RUNNING|0:0|00:00:35|
2|wrap|debug|root|1|RUNNING|0:0|00:00:35|
2.batch|batch||root|1|RUNNING|0:0|00:00:35|
3|myjob|debug|root|2|RUNNING|0:0|00:00:35|
3.batch|batch||root|2|RUNNING|0:0|00:00:35|
4|wrap|debug|physics|1|RUNNING|0:0|00:00:09|
4.batch|batch||physics|1|RUNNING|0:0|00:00:09|
5|wrap|debug|physics|1|PENDING|0:0|00:00:00|
6|wrap|debug|physics|1|RUNNING|0:0|00:00:09|
6.batch|batch||physics|1|RUNNING|0:0|00:00:09|
7|wrap|debug|physics|1|PENDING|0:0|00:00:00|
8|bigjob|debug|root|64|PENDING|0:0|00:00:00|
9|bigjob2|debug|root|64|PENDING|0:0|00:00:00|
10|held|debug|root|1|PENDING|0:0|00:00:00|
13|downpart|maint|root|1|PENDING|0:0|00:00:00|
14|ok|debug|root|1|COMPLETED|0:0|00:00:00|
14.batch|batch||root|1|COMPLETED|0:0|00:00:00|1072K
15|fails|debug|root|1|FAILED|3:0|00:00:00|
15.batch|batch||root|1|FAILED|3:0|00:00:00|1072K
17|hostname|debug|root|1|COMPLETED|0:0|00:00:00|
17.0|hostname||root|1|COMPLETED|0:0|00:00:00|808K
"#,
    ),
    (
        "sbatch",
        r#"# $ sbatch --wrap='sleep 600' -o /dev/null
# exit=0
Submitted batch job 1
"#,
    ),
    (
        "sbatch_invalid_account",
        r#"# $ sbatch -A nosuch --wrap=true -o /dev/null
# exit=1
sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified
"#,
    ),
    (
        "sbatch_invalid_partition",
        r#"# $ sbatch -p nosuch --wrap=true -o /dev/null
# exit=1
sbatch: error: invalid partition specified: nosuch
sbatch: error: Batch job submission failed: Invalid partition name specified
"#,
    ),
    (
        "sbatch_no_script",
        r#"# $ sbatch < /dev/null
# exit=1
sbatch: error: Batch script is empty!
"#,
    ),
    (
        "sbatch_parsable",
        r#"# $ sbatch --parsable --wrap='sleep 600' -o /dev/null
# exit=0
2
"#,
    ),
    (
        "scancel_invalid",
        r#"# $ scancel 999999
# exit=0

"#,
    ),
    (
        "scancel_invalid_verbose",
        r#"# $ scancel -v 999999
# exit=0
scancel: Terminating job 999999
scancel: error: Kill job error on job id 999999: Invalid job id specified
"#,
    ),
    (
        "scancel_other_user",
        r#"# $ runuser -u alice -- scancel 1
# exit=210
scancel: error: Kill job error on job id 1: Access/permission denied
"#,
    ),
    (
        "scontrol_hold_release",
        r#"# $ scontrol release $(squeue -h -n held -o %i) && squeue -h -n held -o '%i %T %r'
# exit=0
10 PENDING None
"#,
    ),
    (
        "scontrol_show_job",
        r#"# $ scontrol show job 1
# exit=0
JobId=1 JobName=wrap
   UserId=root(0) GroupId=root(0) MCS_label=N/A
   Priority=10507 Nice=0 Account=root QOS=normal
   JobState=RUNNING Reason=None Dependency=(null)
   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0
   RunTime=00:00:34 TimeLimit=UNLIMITED TimeMin=N/A
   SubmitTime=2026-11-25T12:43:53 EligibleTime=2026-11-25T12:43:53
   AccrueTime=2026-11-25T12:43:53
   StartTime=2026-11-25T12:43:54 EndTime=Unknown Deadline=N/A
   SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-25T12:43:54 Scheduler=Main
   Partition=debug AllocNode:Sid=localhost:2523
   ReqNodeList=(null) ExcNodeList=(null)
   NodeList=vm
   BatchHost=vm
   NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:*
   TRES=cpu=1,mem=100M,node=1,billing=1
   Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=*
   MinCPUsNode=1 MinMemoryCPU=100M MinTmpDiskNode=0
   Features=(null) DelayBoot=00:00:00
   OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null)
   Command=(null)
   WorkDir=/tmp
   StdErr=/dev/null
   StdIn=/dev/null
   StdOut=/dev/null
   Power=
   
"#,
    ),
    (
        "scontrol_show_job_invalid",
        r#"# $ scontrol show job 999999
# exit=1
slurm_load_jobs error: Invalid job id specified
"#,
    ),
    (
        "scontrol_show_job_pending",
        r#"# $ scontrol show job $(squeue -h -t PD -n bigjob2 -o %i)
# exit=0
JobId=9 JobName=bigjob2
   UserId=root(0) GroupId=root(0) MCS_label=N/A
   Priority=11000 Nice=0 Account=root QOS=normal
   JobState=PENDING Reason=Priority Dependency=(null)
   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0
   RunTime=00:00:00 TimeLimit=UNLIMITED TimeMin=N/A
   SubmitTime=2026-11-25T12:43:58 EligibleTime=2026-11-25T12:43:58
   AccrueTime=2026-11-25T12:43:58
   StartTime=2027-11-25T12:43:54 EndTime=Unknown Deadline=N/A
   SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-25T12:44:21 Scheduler=Main
   Partition=debug AllocNode:Sid=localhost:2523
   ReqNodeList=(null) ExcNodeList=(null)
   NodeList=
   NumNodes=1 NumCPUs=64 NumTasks=64 CPUs/Task=1 ReqB:S:C:T=0:0:*:*
   TRES=cpu=64,mem=6400M,node=1,billing=64
   Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=*
   MinCPUsNode=1 MinMemoryCPU=100M MinTmpDiskNode=0
   Features=(null) DelayBoot=00:00:00
   OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null)
   Command=(null)
   WorkDir=/tmp
   StdErr=/dev/null
   StdIn=/dev/null
   StdOut=/dev/null
   Power=
   
"#,
    ),
    (
        "scontrol_show_node",
        r#"# $ scontrol show node
# exit=0
NodeName=vm Arch=x86_64 CoresPerSocket=1 
   CPUAlloc=6 CPUEfctv=64 CPUTot=64 CPULoad=3.43
   AvailableFeatures=(null)
   ActiveFeatures=(null)
   Gres=(null)
   NodeAddr=127.0.0.1 NodeHostName=vm Version=22.05.8
   OS=Linux 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0 
   RealMemory=65536 AllocMem=600 FreeMem=15198 Sockets=64 Boards=1
   State=MIXED ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A
   Partitions=debug,maint 
   BootTime=2026-11-25T11:46:14 SlurmdStartTime=2026-11-25T12:43:51
   LastBusyTime=2026-11-25T12:43:51
   CfgTRES=cpu=64,mem=64G,billing=64
   AllocTRES=cpu=6,mem=600M
   CapWatts=n/a
   CurrentWatts=0 AveWatts=0
   ExtSensorsJoules=n/s ExtSensorsWatts=0 ExtSensorsTemp=n/s
"#,
    ),
    (
        "scontrol_show_partition",
        r#"# $ scontrol show partition
# exit=0
PartitionName=debug
   AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL
   AllocNodes=ALL Default=YES QoS=N/A
   DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO
   MaxNodes=UNLIMITED MaxTime=UNLIMITED MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED
   Nodes=vm
   PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO
   OverTimeLimit=NONE PreemptMode=OFF
   State=UP TotalCPUs=64 TotalNodes=1 SelectTypeParameters=NONE
   JobDefaults=(null)
   DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED
   TRES=cpu=64,mem=64G,node=1,billing=64

PartitionName=maint
   AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL
   AllocNodes=ALL Default=NO QoS=N/A
   DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO
   MaxNodes=UNLIMITED MaxTime=01:00:00 MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED
   Nodes=vm
   PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO
   OverTimeLimit=NONE PreemptMode=OFF
   State=DOWN TotalCPUs=64 TotalNodes=1 SelectTypeParameters=NONE
   JobDefaults=(null)
   DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED
   TRES=cpu=64,mem=64G,node=1,billing=64
"#,
    ),
    (
        "sinfo",
        r#"# $ sinfo
# exit=0
PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST
debug*       up   infinite      1    mix vm
maint      down    1:00:00      1    mix vm
"#,
    ),
    (
        "sinfo_N_l",
        r#"# $ sinfo -N -l
# exit=0
Wed Nov 25 12:44:28 2026
NODELIST   NODES PARTITION       STATE CPUS    S:C:T MEMORY TMP_DISK WEIGHT AVAIL_FE REASON              
vm             1    debug*       mixed 64     64:1:1  65536        0      1   (null) none                
vm             1     maint       mixed 64     64:1:1  65536        0      1   (null) none                
"#,
    ),
    (
        "sinfo_summarize",
        r#"# $ sinfo -s
# exit=0
PARTITION AVAIL  TIMELIMIT   NODES(A/I/O/T) NODELIST
debug*       up   infinite          1/0/0/1 vm
maint      down    1:00:00          1/0/0/1 vm
"#,
    ),
    (
        "squeue",
        r#"# $ squeue
# exit=0
             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)
                 8     debug   bigjob     root PD       0:00      1 (Resources)
                 9     debug  bigjob2     root PD       0:00      1 (Priority)
                11     debug    later     root PD       0:00      1 (BeginTime)
                12     debug      dep     root PD       0:00      1 (Dependency)
                 7     debug     wrap      bob PD       0:00      1 (AssocMaxJobsLimit)
                 5     debug     wrap    alice PD       0:00      1 (AssocGrpCpuLimit)
                10     debug     held     root PD       0:00      1 (JobHeldUser)
                 3     debug    myjob     root  R       0:34      1 vm
                 1     debug     wrap     root  R       0:34      1 vm
                 2     debug     wrap     root  R       0:34      1 vm
                 4     debug     wrap    alice  R       0:08      1 vm
                 6     debug     wrap      bob  R       0:08      1 vm
                13     maint downpart     root PD       0:00      1 (PartitionDown)
"#,
    ),
    (
        "squeue_all_states",
        r#"# $ squeue -t all -o '%i %j %u %T %r %e'
# exit=0
JOBID NAME USER STATE REASON END_TIME
16 tocancel root CANCELLED BeginTime 2026-11-25T12:43:58
14 ok root COMPLETED None 2026-11-25T12:44:20
17 hostname root COMPLETED None 2026-11-25T12:44:20
15 fails root FAILED NonZeroExitCode 2026-11-25T12:44:20
8 bigjob root PENDING Resources NONE
9 bigjob2 root PENDING Priority NONE
11 later root PENDING BeginTime NONE
12 dep root PENDING Dependency N/A
7 wrap bob PENDING AssocMaxJobsLimit N/A
5 wrap alice PENDING AssocGrpCpuLimit N/A
10 held root PENDING JobHeldUser N/A
3 myjob root RUNNING None 2026-11-25T13:13:54
1 wrap root RUNNING None NONE
2 wrap root RUNNING None NONE
4 wrap alice RUNNING None 2027-11-25T12:44:20
6 wrap bob RUNNING None 2027-11-25T12:44:20
13 downpart root PENDING PartitionDown N/A
"#,
    ),
    (
        "squeue_format",
        r#"# $ squeue -o '%i %P %j %u %T %M %D %R'
# exit=0
JOBID PARTITION NAME USER STATE TIME NODES NODELIST(REASON)
8 debug bigjob root PENDING 0:00 1 (Resources)
9 debug bigjob2 root PENDING 0:00 1 (Priority)
11 debug later root PENDING 0:00 1 (BeginTime)
12 debug dep root PENDING 0:00 1 (Dependency)
7 debug wrap bob PENDING 0:00 1 (AssocMaxJobsLimit)
5 debug wrap alice PENDING 0:00 1 (AssocGrpCpuLimit)
10 debug held root PENDING 0:00 1 (JobHeldUser)
3 debug myjob root RUNNING 0:34 1 vm
1 debug wrap root RUNNING 0:34 1 vm
2 debug wrap root RUNNING 0:34 1 vm
4 debug wrap alice RUNNING 0:08 1 vm
6 debug wrap bob RUNNING 0:08 1 vm
13 maint downpart root PENDING 0:00 1 (PartitionDown)
"#,
    ),
    (
        "squeue_long",
        r#"# $ squeue -l
# exit=0
Wed Nov 25 12:44:28 2026
             JOBID PARTITION     NAME     USER    STATE       TIME TIME_LIMI  NODES NODELIST(REASON)
                 8     debug   bigjob     root  PENDING       0:00 UNLIMITED      1 (Resources)
                 9     debug  bigjob2     root  PENDING       0:00 UNLIMITED      1 (Priority)
                11     debug    later     root  PENDING       0:00 UNLIMITED      1 (BeginTime)
                12     debug      dep     root  PENDING       0:00 UNLIMITED      1 (Dependency)
                 7     debug     wrap      bob  PENDING       0:00 UNLIMITED      1 (AssocMaxJobsLimit)
                 5     debug     wrap    alice  PENDING       0:00 UNLIMITED      1 (AssocGrpCpuLimit)
                10     debug     held     root  PENDING       0:00 UNLIMITED      1 (JobHeldUser)
                 3     debug    myjob     root  RUNNING       0:34     30:00      1 vm
                 1     debug     wrap     root  RUNNING       0:34 UNLIMITED      1 vm
                 2     debug     wrap     root  RUNNING       0:34 UNLIMITED      1 vm
                 4     debug     wrap    alice  RUNNING       0:08 365-00:00:00      1 vm
                 6     debug     wrap      bob  RUNNING       0:08 365-00:00:00      1 vm
                13     maint downpart     root  PENDING       0:00   1:00:00      1 (PartitionDown)
"#,
    ),
    (
        "squeue_partitionconfig",
        r#"# $ squeue -n toomany -o '%i %T %r'
# exit=0
JOBID STATE REASON
18 PENDING PartitionConfig
"#,
    ),
    (
        "squeue_start",
        r#"# $ squeue --start
# exit=0
             JOBID PARTITION     NAME     USER ST          START_TIME  NODES SCHEDNODES           NODELIST(REASON)
                11     debug    later     root PD 2026-11-25T13:43:58      1 (null)               (BeginTime)
                 8     debug   bigjob     root PD 2027-11-25T12:43:54      1 (null)               (Resources)
                 9     debug  bigjob2     root PD 2027-11-25T12:43:54      1 (null)               (Priority)
                 5     debug     wrap    alice PD                 N/A      1 (null)               (AssocGrpCpuLimit)
                 7     debug     wrap      bob PD                 N/A      1 (null)               (AssocMaxJobsLimit)
                10     debug     held     root PD                 N/A      1 (null)               (JobHeldUser)
                12     debug      dep     root PD                 N/A      1 (null)               (Dependency)
                13     maint downpart     root PD                 N/A      1 (null)               (PartitionDown)
"#,
    ),
    (
        "squeue_user_pd",
        r#"# $ squeue -u root -t PD -o '%i %P %j %u %T %M %D %R'
# exit=0
JOBID PARTITION NAME USER STATE TIME NODES NODELIST(REASON)
8 debug bigjob root PENDING 0:00 1 (Resources)
9 debug bigjob2 root PENDING 0:00 1 (Priority)
11 debug later root PENDING 0:00 1 (BeginTime)
12 debug dep root PENDING 0:00 1 (Dependency)
10 debug held root PENDING 0:00 1 (JobHeldUser)
13 maint downpart root PENDING 0:00 1 (PartitionDown)
"#,
    ),
    (
        "version",
        r#"# $ sinfo -V
# exit=0
slurm-wlm 22.05.8
"#,
    ),
    (
        "sacctmgr_add_account",
        r#"# $ sacctmgr -i add account chemistry Description=chem Organization=science
# exit=0
 Adding Account(s)
  chemistry
 Settings
  Description     = chem
  Organization    = science
 Associations
  A = chemistry  C = bench     
 Settings
  Parent        = root
"#,
    ),
    (
        "sacctmgr_add_account_dup",
        r#"# $ sacctmgr -i add account physics
# exit=1
 Nothing new added.
"#,
    ),
    (
        "sacctmgr_add_user",
        r#"# $ sacctmgr -i add user carol DefaultAccount=chemistry
# exit=0
 Adding User(s)
  carol
 Settings =
  Default Account = chemistry
 Associations =
  U = carol     A = chemistry  C = bench     
"#,
    ),
    (
        "sacctmgr_delete_account",
        r#"# $ sacctmgr -i delete account chemistry
# exit=0
 Deleting accounts...
  chemistry
"#,
    ),
    (
        "sacctmgr_modify_grptres",
        r#"# $ sacctmgr -i modify user alice set GrpTRES=cpu=1
# exit=0
 Modified user associations...
  C = bench      A = physics              U = alice    
"#,
    ),
    (
        "sacctmgr_modify_maxjobs",
        r#"# $ sacctmgr -i modify user bob set MaxJobs=1
# exit=0
 Modified user associations...
  C = bench      A = physics              U = bob      
"#,
    ),
    (
        "sacctmgr_show_account",
        r#"# $ sacctmgr show account
# exit=0
   Account                Descr                  Org 
---------- -------------------- -------------------- 
 chemistry                 chem              science 
   physics              physics              science 
      root default root account                 root 
"#,
    ),
    (
        "sacctmgr_show_assoc",
        r#"# $ sacctmgr show assoc format=Account,User,Partition,GrpTRES,MaxJobs
# exit=0
   Account       User  Partition       GrpTRES MaxJobs 
---------- ---------- ---------- ------------- ------- 
      root                                             
      root       root                                  
 chemistry                                             
 chemistry      carol                                  
   physics                                             
   physics      alice                    cpu=1         
   physics        bob                                1 
"#,
    ),
    (
        "sacctmgr_show_assoc_parsable",
        r#"# $ sacctmgr -nP show assoc format=Cluster,Account,User,Partition,GrpTRES,MaxJobs
# exit=0
bench|root||||
bench|root|root|||
bench|chemistry||||
bench|chemistry|carol|||
bench|physics||||
bench|physics|alice||cpu=1|
bench|physics|bob|||1
"#,
    ),
    (
        "sacctmgr_show_cluster",
        r#"# $ sacctmgr show cluster format=Cluster,ControlHost,ControlPort,RPC
# exit=0
   Cluster     ControlHost  ControlPort   RPC 
---------- --------------- ------------ ----- 
     bench       127.0.0.1         6817  9728 
"#,
    ),
    (
        "sacctmgr_show_user",
        r#"# $ sacctmgr show user
# exit=0
      User   Def Acct     Admin 
---------- ---------- --------- 
     alice    physics      None 
       bob    physics      None 
     carol  chemistry      None 
      root       root Administ+ 
"#,
    ),
];
