//! sacctmgr against Slurm's own output (the samples in `shared/golden`, embedded in
//! `common::golden`): the golden's command line parsed, the dbd's reply rendered, byte for
//! byte; and the seeds' sacctmgr commands parse as written.

mod common;

use common::golden::sample;
use slurm_core::commands::Step;
use slurm_core::commands::sacctmgr::{self, Args, Command, Local, change_text, render_show};
use slurm_core::proto::{
    Account, AcctUser, Assoc, AssocLimits, MgrEntity, MgrList, MgrOp, MgrReply,
};

/// The golden's command line (after `sacctmgr`) and its expected stdout and exit status.
fn golden(name: &str) -> (Args, &'static str, u8) {
    let text = common::golden::GOLDEN
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap()
        .1;
    let line = text.lines().next().unwrap();
    let words: Vec<String> = line
        .strip_prefix("# $ sacctmgr ")
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let args = match sacctmgr::parse_args(&words) {
        Step::Run(a) => a,
        Step::Exit(out) => panic!("{name}: {out:?}"),
    };
    let (stdout, code) = sample(name);
    (args, stdout, code)
}

fn assoc(account: &str, user: &str) -> Assoc {
    Assoc {
        cluster: "bench".into(),
        account: account.into(),
        user: user.into(),
        parent: if user.is_empty() && account != "root" {
            "root"
        } else {
            ""
        }
        .into(),
        shares: 1,
        ..Assoc::default()
    }
}

fn change(name: &str, reply: MgrReply) {
    let (args, stdout, code) = golden(name);
    assert!(args.flags.immediate);
    let Command::Change(op) = &args.command else {
        panic!("{name}: not a change");
    };
    let out = change_text(op, &reply);
    assert_eq!(out.stdout, stdout, "{name}");
    assert_eq!(out.code, code, "{name}");
    assert_eq!(out.stderr, "", "{name}");
}

fn reply(objects: &[&str], assocs: Vec<Assoc>) -> MgrReply {
    MgrReply {
        objects: objects.iter().map(|s| (*s).to_owned()).collect(),
        assocs,
        error: None,
    }
}

#[test]
fn embedded_goldens_match_the_samples() {
    common::golden::check_embedded_copies();
}

#[test]
fn add_account() {
    let (args, _, _) = golden("sacctmgr_add_account");
    assert_eq!(
        args.command,
        Command::Change(MgrOp::AddAccounts {
            names: vec!["chemistry".into()],
            description: Some("chem".into()),
            organization: Some("science".into()),
            parent: None,
            limits: AssocLimits::default(),
        })
    );
    change(
        "sacctmgr_add_account",
        reply(&["chemistry"], vec![assoc("chemistry", "")]),
    );
    change("sacctmgr_add_account_dup", MgrReply::default());
}

#[test]
fn add_user() {
    change(
        "sacctmgr_add_user",
        reply(&["carol"], vec![assoc("chemistry", "carol")]),
    );
}

#[test]
fn modify_users() {
    let (args, _, _) = golden("sacctmgr_modify_grptres");
    let Command::Change(MgrOp::ModifyUsers { names, limits, .. }) = args.command else {
        panic!()
    };
    assert_eq!(names, ["alice"]);
    assert_eq!(limits.grp_tres.as_deref(), Some("cpu=1"));
    let mut a = assoc("physics", "alice");
    a.grp_tres = "cpu=1".into();
    change("sacctmgr_modify_grptres", reply(&[], vec![a]));
    let mut b = assoc("physics", "bob");
    b.max_jobs = Some(1);
    change("sacctmgr_modify_maxjobs", reply(&[], vec![b]));
}

#[test]
fn delete_account() {
    change("sacctmgr_delete_account", reply(&["chemistry"], vec![]));
}

fn show(name: &str, list: &MgrList) {
    let (args, stdout, code) = golden(name);
    let Command::Show {
        columns, clusters, ..
    } = &args.command
    else {
        panic!("{name}: not a show");
    };
    let local = Local {
        cluster: "bench".into(),
        host: "127.0.0.1".into(),
        port: 6817,
    };
    let out = render_show(list, columns, clusters, args.flags, &local);
    assert_eq!(out.stdout, stdout, "{name}");
    assert_eq!(out.code, code);
}

fn the_assocs() -> Vec<Assoc> {
    let mut alice = assoc("physics", "alice");
    alice.grp_tres = "cpu=1".into();
    let mut bob = assoc("physics", "bob");
    bob.max_jobs = Some(1);
    vec![
        assoc("root", ""),
        assoc("root", "root"),
        assoc("chemistry", ""),
        assoc("chemistry", "carol"),
        assoc("physics", ""),
        alice,
        bob,
    ]
}

#[test]
fn show_assoc() {
    let list = MgrList {
        assocs: the_assocs(),
        ..MgrList::default()
    };
    show("sacctmgr_show_assoc", &list);
    show("sacctmgr_show_assoc_parsable", &list);
}

#[test]
fn show_accounts_users_clusters() {
    let acct = |name: &str, d: &str, o: &str| Account {
        name: name.into(),
        parent: "root".into(),
        description: d.into(),
        organization: o.into(),
    };
    let list = MgrList {
        accounts: vec![
            acct("chemistry", "chem", "science"),
            acct("physics", "physics", "science"),
            acct("root", "default root account", "root"),
        ],
        ..MgrList::default()
    };
    show("sacctmgr_show_account", &list);
    let user = |name: &str, d: &str, a: &str| AcctUser {
        name: name.into(),
        default_account: d.into(),
        admin_level: a.into(),
    };
    let list = MgrList {
        users: vec![
            user("alice", "physics", "None"),
            user("bob", "physics", "None"),
            user("carol", "chemistry", "None"),
            user("root", "root", "Administrator"),
        ],
        ..MgrList::default()
    };
    show("sacctmgr_show_user", &list);
    let list = MgrList {
        clusters: vec!["bench".into()],
        ..MgrList::default()
    };
    show("sacctmgr_show_cluster", &list);
}

fn parse(line: &str) -> Step<Args> {
    let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    sacctmgr::parse_args(&words)
}

fn op(line: &str) -> MgrOp {
    match parse(line) {
        Step::Run(Args {
            command: Command::Change(op),
            ..
        }) => op,
        other => panic!("{line}: {other:?}"),
    }
}

#[test]
fn the_seeds_commands_parse() {
    assert!(matches!(
        op("add account ai_project Description=AI_Team_Project Organization=Research_Dept"),
        MgrOp::AddAccounts { organization: Some(o), .. } if o == "Research_Dept"
    ));
    assert!(matches!(
        op("add user gildong Account=ai_project"),
        MgrOp::AddUsers { accounts, .. } if accounts == ["ai_project"]
    ));
    assert!(matches!(
        op("modify user gildong set GrpTRES=gres/gpu=2"),
        MgrOp::ModifyUsers { limits, .. } if limits.grp_tres.as_deref() == Some("gres/gpu=2")
    ));
    assert!(matches!(
        op("modify account ai_project set MaxJobs=10"),
        MgrOp::ModifyAccounts { limits, .. } if limits.max_jobs == Some(10)
    ));
    assert!(matches!(
        op("modify account ai_project set GrpCPURunMins=10000"),
        MgrOp::ModifyAccounts { limits, .. }
            if limits.grp_tres_run_mins.as_deref() == Some("cpu=10000")
    ));
    assert!(matches!(
        op("modify user where name=bob account=physics set MaxWall=1-00:00:00 Fairshare=5"),
        MgrOp::ModifyUsers { names, accounts, limits, .. }
            if names == ["bob"] && accounts == ["physics"] && limits.max_wall == Some(1440)
                && limits.shares == Some(5)
    ));
    assert!(
        matches!(op("add cluster hpc-demo-cluster"), MgrOp::AddClusters { names } if names == ["hpc-demo-cluster"])
    );
    assert!(matches!(
        op("add account acc_sub_group Description=Sub Organization=acc_sub_group parent=top_group"),
        MgrOp::AddAccounts { parent: Some(p), .. } if p == "top_group"
    ));
    assert!(matches!(
        op("create user name=xxx DefaultAccount=yyy"),
        MgrOp::AddUsers { names, default_account: Some(d), .. } if names == ["xxx"] && d == "yyy"
    ));
    assert!(matches!(op("delete user carol"), MgrOp::DeleteUsers { names } if names == ["carol"]));
    for line in [
        "show clusters",
        "show account",
        "show user",
        "show association user=gildong format=Account,User,Partition,GrpTRES,MaxJobs",
    ] {
        assert!(
            matches!(
                parse(line),
                Step::Run(Args {
                    command: Command::Show { .. },
                    ..
                })
            ),
            "{line}"
        );
    }
    let Step::Run(Args {
        command: Command::Show { query, .. },
        ..
    }) = parse("show assoc user=gildong")
    else {
        panic!()
    };
    assert_eq!(
        (query.entity, query.users),
        (MgrEntity::Assocs, vec!["gildong".to_owned()])
    );
}

#[test]
fn bad_requests_are_refused() {
    for line in [
        "add account x Bogus=1",
        "modify user alice set MaxJobs=abc",
        "modify user alice set GrpTRES=gpu",
        "show assoc format=Nope",
        "frobnicate account x",
        "-x show account",
    ] {
        let Step::Exit(out) = parse(line) else {
            panic!("{line} parsed");
        };
        assert_eq!(out.code, 1, "{line}");
        assert!(!out.stderr.is_empty(), "{line}");
    }
    let out = change_text(
        &op("add user carol Account=nope"),
        &MgrReply {
            error: Some(" This account 'nope' doesn't exist.".into()),
            ..MgrReply::default()
        },
    );
    assert_eq!(
        (out.stderr.as_str(), out.code),
        (" This account 'nope' doesn't exist.\n", 1)
    );
}
