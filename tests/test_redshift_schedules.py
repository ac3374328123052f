"""Redshift's scheduler with boto3: scheduled actions that pause and resume a cluster at a time
or on a cron schedule, run as the IAM role they name (assumed by the scheduler through STS, so
its trust policy and permissions decide), and snapshot schedules that decide when automated
snapshots are taken."""
import datetime
import json
import time

import pytest
from botocore.exceptions import ClientError

from test_redshift import create_cluster

TRUST_SCHEDULER = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "scheduler.redshift.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
TRUST_EC2 = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def code(e):
    return e.value.response["Error"]["Code"]


def at(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("at(%Y-%m-%dT%H:%M:%S)")


def status(rs, name):
    return rs.describe_clusters(ClusterIdentifier=name)["Clusters"][0]["ClusterStatus"]


def wait_status(rs, name, want, seconds=40):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if status(rs, name) == want:
            return True
        time.sleep(1)
    return False


def test_scheduled_actions_pause_and_resume_as_their_role(server):
    rs, iam = server.client("redshift"), server.client("iam")
    create_cluster(server, "nightly")
    role = iam.create_role(RoleName="scheduler", AssumeRolePolicyDocument=TRUST_SCHEDULER)["Role"]["Arn"]
    iam.put_role_policy(RoleName="scheduler", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["redshift:PauseCluster", "redshift:ResumeCluster"], "Resource": "*"}]}))
    powerless = iam.create_role(RoleName="powerless", AssumeRolePolicyDocument=TRUST_SCHEDULER)["Role"]["Arn"]
    untrusting = iam.create_role(RoleName="untrusting", AssumeRolePolicyDocument=TRUST_EC2)["Role"]["Arn"]
    pause = {"PauseCluster": {"ClusterIdentifier": "nightly"}}
    resume = {"ResumeCluster": {"ClusterIdentifier": "nightly"}}

    # Refused, and nothing made: a role the scheduler cannot assume, bad schedules, no cluster.
    with pytest.raises(ClientError) as e:
        rs.create_scheduled_action(ScheduledActionName="x", TargetAction=pause, Schedule=at(60), IamRole=untrusting)
    assert code(e) == "InvalidScheduledAction" and "scheduler.redshift.amazonaws.com" in e.value.response["Error"]["Message"]
    for bad in ("cron(0 0 * * * *)", "cron(0 0 ? * *)", "rate(1 hour)", "at(tomorrow)"):
        with pytest.raises(ClientError) as e:
            rs.create_scheduled_action(ScheduledActionName="x", TargetAction=pause, Schedule=bad, IamRole=role)
        assert code(e) == "InvalidSchedule", bad
    with pytest.raises(ClientError) as e:
        rs.create_scheduled_action(ScheduledActionName="x", TargetAction={"PauseCluster": {"ClusterIdentifier": "nope"}},
                                   Schedule=at(60), IamRole=role)
    assert code(e) == "ClusterNotFound"
    with pytest.raises(ClientError) as e:
        rs.create_scheduled_action(ScheduledActionName="x", TargetAction={**pause, **resume}, Schedule=at(60), IamRole=role)
    assert code(e) == "InvalidScheduledAction"
    assert rs.describe_scheduled_actions()["ScheduledActions"] == []

    # A weekly cron: the next Mondays at 07:00 UTC (2 is Monday: AWS counts from Sunday).
    weekly = rs.create_scheduled_action(ScheduledActionName="weekday-resume", TargetAction=resume,
                                        Schedule="cron(0 7 ? * 2 *)", IamRole=role, Enable=False)
    assert weekly["State"] == "DISABLED" and len(weekly["NextInvocations"]) == 10
    assert all(t.weekday() == 0 and (t.hour, t.minute) == (7, 0) for t in weekly["NextInvocations"])
    assert [t - weekly["NextInvocations"][0] for t in weekly["NextInvocations"][:2]] == [
        datetime.timedelta(0), datetime.timedelta(days=7)]
    with pytest.raises(ClientError) as e:
        rs.create_scheduled_action(ScheduledActionName="weekday-resume", TargetAction=resume,
                                   Schedule="cron(0 7 ? * 2 *)", IamRole=role)
    assert code(e) == "ScheduledActionAlreadyExists"

    # A one-time pause runs as its role, a few seconds from now.
    soon = rs.create_scheduled_action(ScheduledActionName="pause-soon", TargetAction=pause, Schedule=at(3), IamRole=role)
    assert soon["State"] == "ACTIVE" and len(soon["NextInvocations"]) == 1
    assert wait_status(rs, "nightly", "paused")
    assert rs.describe_scheduled_actions(ScheduledActionName="pause-soon")["ScheduledActions"][0]["NextInvocations"] == []

    # A role without redshift:ResumeCluster: the scheduler runs the action, Redshift refuses it.
    rs.create_scheduled_action(ScheduledActionName="resume-denied", TargetAction=resume, Schedule=at(3), IamRole=powerless)
    time.sleep(12)
    assert status(rs, "nightly") == "paused"
    rs.modify_scheduled_action(ScheduledActionName="resume-denied", IamRole=role, Schedule=at(3))
    assert wait_status(rs, "nightly", "available")

    listed = rs.describe_scheduled_actions(Filters=[{"Name": "cluster-identifier", "Values": ["nightly"]}],
                                           TargetActionType="ResumeCluster")["ScheduledActions"]
    assert sorted(a["ScheduledActionName"] for a in listed) == ["resume-denied", "weekday-resume"]
    assert [a["ScheduledActionName"] for a in rs.describe_scheduled_actions(Active=False)["ScheduledActions"]] == ["weekday-resume"]
    rs.delete_scheduled_action(ScheduledActionName="pause-soon")
    with pytest.raises(ClientError) as e:
        rs.describe_scheduled_actions(ScheduledActionName="pause-soon")
    assert code(e) == "ScheduledActionNotFound"

    # Handing the role to the scheduler takes iam:PassRole.
    iam.create_user(UserName="ops")
    iam.put_user_policy(UserName="ops", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "redshift:*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="ops")["AccessKey"]
    ops = server.client("redshift", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        ops.create_scheduled_action(ScheduledActionName="by-ops", TargetAction=pause, Schedule=at(600), IamRole=role)
    assert code(e) == "AccessDenied" and "iam:PassRole" in e.value.response["Error"]["Message"]


def test_snapshot_schedules_decide_automated_snapshots(tmp_path):
    """With --automated-snapshot-interval 1 an unscheduled cluster gets automated snapshots
    every second; a cluster on a snapshot schedule gets them when its schedule fires."""
    from conftest import Nuage

    server = Nuage(str(tmp_path), ["--automated-snapshot-interval", "1", "--recovery-point-interval", "1"]).start()
    try:
        rs = server.client("redshift")

        def automated(cluster):
            return rs.describe_cluster_snapshots(ClusterIdentifier=cluster, SnapshotType="automated")["Snapshots"]

        for bad in (["rate(30 minutes)"], ["at(2030-01-01T00:00:00)"], ["cron(0 0 * * * *)"], []):
            with pytest.raises(ClientError) as e:
                rs.create_snapshot_schedule(ScheduleIdentifier="bad", ScheduleDefinitions=bad)
            assert code(e) == "InvalidSchedule", bad
        dry = rs.create_snapshot_schedule(ScheduleIdentifier="twice-daily", ScheduleDefinitions=["rate(12 hours)"],
                                          DryRun=True, NextInvocations=3)
        gaps = [b - a for a, b in zip(dry["NextInvocations"], dry["NextInvocations"][1:])]
        assert gaps == [datetime.timedelta(hours=12)] * 2
        assert rs.describe_snapshot_schedules()["SnapshotSchedules"] == []  # a dry run keeps nothing
        yearly = rs.create_snapshot_schedule(ScheduleIdentifier="new-year", ScheduleDefinitions=["cron(0 0 1 1 ? *)"],
                                             Tags=[{"Key": "team", "Value": "data"}])
        assert all((t.month, t.day, t.hour) == (1, 1, 0) for t in yearly["NextInvocations"])
        rs.create_snapshot_schedule(ScheduleIdentifier="every-minute", ScheduleDefinitions=["cron(* * * * ? *)"])
        with pytest.raises(ClientError) as e:
            rs.create_snapshot_schedule(ScheduleIdentifier="new-year", ScheduleDefinitions=["rate(1 day)"])
        assert code(e) == "SnapshotScheduleAlreadyExists"

        create_cluster(server, "free", AutomatedSnapshotRetentionPeriod=1)
        scheduled = create_cluster(server, "held", AutomatedSnapshotRetentionPeriod=1, SnapshotScheduleIdentifier="new-year")
        assert scheduled["SnapshotScheduleIdentifier"] == "new-year" and scheduled["SnapshotScheduleState"] == "ACTIVE"
        listed = rs.describe_snapshot_schedules(ClusterIdentifier="held")["SnapshotSchedules"]
        assert [s["ScheduleIdentifier"] for s in listed] == ["new-year"]
        assert listed[0]["AssociatedClusters"] == [{"ClusterIdentifier": "held", "ScheduleAssociationState": "ACTIVE"}]
        assert [s["ScheduleIdentifier"] for s in rs.describe_snapshot_schedules(TagKeys=["team"])["SnapshotSchedules"]] == ["new-year"]
        with pytest.raises(ClientError) as e:
            rs.delete_snapshot_schedule(ScheduleIdentifier="new-year")
        assert code(e) == "InvalidClusterSnapshotScheduleState"

        deadline = time.time() + 15
        while not automated("free") and time.time() < deadline:
            time.sleep(0.5)
        assert automated("free")
        time.sleep(3)
        assert automated("held") == []  # its schedule has not fired

        # Every minute: the next minute's turn takes a snapshot.
        rs.modify_cluster_snapshot_schedule(ClusterIdentifier="held", ScheduleIdentifier="every-minute")
        deadline = time.time() + 75
        while not automated("held") and time.time() < deadline:
            time.sleep(1)
        snaps = automated("held")
        assert len(snaps) == 1 and snaps[0]["SnapshotCreateTime"].second < 30  # at the turn of a minute

        rs.modify_cluster_snapshot_schedule(ClusterIdentifier="held", DisassociateSchedule=True)
        assert "SnapshotScheduleIdentifier" not in rs.describe_clusters(ClusterIdentifier="held")["Clusters"][0]
        with pytest.raises(ClientError) as e:
            rs.modify_cluster_snapshot_schedule(ClusterIdentifier="held", DisassociateSchedule=True)
        assert code(e) == "InvalidClusterSnapshotScheduleState"
        rs.modify_snapshot_schedule(ScheduleIdentifier="new-year", ScheduleDefinitions=["rate(6 hours)", "cron(30 1 ? * 1 *)"])
        rs.delete_snapshot_schedule(ScheduleIdentifier="every-minute")
        with pytest.raises(ClientError) as e:
            rs.modify_cluster_snapshot_schedule(ClusterIdentifier="held", ScheduleIdentifier="every-minute")
        assert code(e) == "SnapshotScheduleNotFound"
    finally:
        server.kill()
