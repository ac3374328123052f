//! Subscription filters, checked as AWS checks them. Every destination a filter can name
//! (a Kinesis data stream, a Firehose stream, a Lambda function, a CloudWatch Logs
//! destination) belongs to a service nuage does not serve yet, so no destination can receive
//! the test message AWS sends when a filter is created: the filter is refused with AWS's
//! answer for that case, and none is ever stored.
use crate::{invalid, pattern, Logs};
use nuage_core::{AwsResult, RequestContext};
use nuage_protocol::logs as m;
use nuage_protocol::logs::errors::Error as E;

impl Logs {
    pub(crate) fn put_subscription_filter(
        &self,
        ctx: &RequestContext,
        i: m::PutSubscriptionFilterRequest,
    ) -> AwsResult<()> {
        self.group(ctx, i.log_group_name.as_deref())?;
        let name = i.filter_name.as_deref().unwrap_or_default();
        if name.contains([':', '*']) {
            return Err(invalid(format!("Invalid filter name: {name}. It cannot contain ':' or '*'.")));
        }
        pattern::parse(i.filter_pattern.as_deref().unwrap_or_default())
            .map_err(|e| invalid(format!("Invalid subscription filter pattern: {e}")))?;
        if let Some(d) = i.distribution.as_deref().filter(|d| !["ByLogStream", "Random"].contains(d)) {
            return Err(invalid(format!(
                "Value '{d}' at 'distribution' failed to satisfy constraint: Member must satisfy enum value set: [Random, ByLogStream]"
            )));
        }
        let arn = i.destination_arn.as_deref().unwrap_or_default();
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let (service, resource) = match parts.as_slice() {
            ["arn", _, service, _, _, resource] => (*service, *resource),
            _ => return Err(invalid(format!("Invalid destination ARN: {arn}"))),
        };
        let needs_role = |what: &str| {
            if i.role_arn.is_none() {
                Err(invalid(format!("A subscription filter delivering to {what} needs a roleArn.")))
            } else {
                Ok(())
            }
        };
        Err(match service {
            "kinesis" if resource.starts_with("stream/") => {
                needs_role("a Kinesis data stream")?;
                invalid(
                    "Could not deliver test message to specified Kinesis stream. Check if the given kinesis stream is in \
                     ACTIVE state. (nuage does not serve Kinesis Data Streams yet: no stream exists.)",
                )
            }
            "firehose" if resource.starts_with("deliverystream/") => {
                needs_role("a Firehose stream")?;
                invalid(
                    "Could not deliver test message to specified Firehose stream. Check if the given Firehose stream is \
                     in ACTIVE state. (nuage does not serve Amazon Data Firehose yet: no stream exists.)",
                )
            }
            "lambda" if resource.starts_with("function:") => invalid(
                "Could not execute the lambda function. Make sure you have given CloudWatch Logs permission to execute \
                 your function. (nuage does not serve Lambda yet: no function exists.)",
            ),
            "logs" if resource.starts_with("destination:") => E::ResourceNotFoundException
                .msg("The specified destination does not exist. (nuage does not serve CloudWatch Logs destinations yet.)"),
            _ => invalid(format!("Invalid destination ARN: {arn}")),
        })
    }

    /// A log group's subscription filters: none can exist (see the module's note).
    pub(crate) fn describe_subscription_filters(
        &self,
        ctx: &RequestContext,
        i: m::DescribeSubscriptionFiltersRequest,
    ) -> AwsResult<m::DescribeSubscriptionFiltersResponse> {
        self.group(ctx, i.log_group_name.as_deref())?;
        if let Some(limit) = i.limit.filter(|l| !(1..=50).contains(l)) {
            return Err(invalid(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 50"
            )));
        }
        Ok(m::DescribeSubscriptionFiltersResponse { subscription_filters: Some(Vec::new()), next_token: None })
    }

    pub(crate) fn delete_subscription_filter(
        &self,
        ctx: &RequestContext,
        i: m::DeleteSubscriptionFilterRequest,
    ) -> AwsResult<()> {
        self.group(ctx, i.log_group_name.as_deref())?;
        Err(E::ResourceNotFoundException.msg("The specified subscription filter does not exist."))
    }
}
