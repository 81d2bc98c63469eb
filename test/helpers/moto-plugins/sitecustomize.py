# Loaded by Python at start-up (it is on moto_server's PYTHONPATH, see test/helpers/moto-server.ts).
#
# moto 5.2.1's CloudFormation cannot create AWS::CloudWatch::Alarm, so a stack made from the
# platform template would list no alarms, and `watchpoint status` (which finds its alarms among the
# stack's resources, as on AWS) would have nothing to read. This registers that one resource type,
# backed by moto's own CloudWatch backend: the stack's alarms are created by PutMetricAlarm with the
# template's properties, listed by DescribeStackResources with their names as physical ids, and
# deleted with the stack. Tests then move them with SetAlarmState. Nothing else is added to moto.
try:
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.core.common_models import CloudFormationModel
except Exception:  # not the moto interpreter: do nothing
    CloudFormationModel = None

if CloudFormationModel is not None:

    class WatchpointTestCfnAlarm(CloudFormationModel):
        # moto's model metaclass files models by the service in their module path.
        __module__ = "moto.cloudwatch.watchpoint_test_cfn_alarm"

        def __init__(self, name, account_id, region_name):
            self.name = name
            self.account_id = account_id
            self.region_name = region_name

        @staticmethod
        def cloudformation_name_type():
            return "AlarmName"

        @staticmethod
        def cloudformation_type():
            return "AWS::CloudWatch::Alarm"

        @classmethod
        def has_cfn_attr(cls, attr):
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name):
            if attribute_name == "Arn":
                return f"arn:aws:cloudwatch:{self.region_name}:{self.account_id}:alarm:{self.name}"
            raise KeyError(attribute_name)

        @property
        def physical_resource_id(self):
            return self.name

        def is_created(self):
            return True

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
            props = cloudformation_json.get("Properties", {})
            name = props.get("AlarmName", resource_name)
            backend = cloudwatch_backends[account_id][region_name]
            backend.put_metric_alarm(
                name=name,
                namespace=props.get("Namespace"),
                metric_name=props.get("MetricName"),
                comparison_operator=props.get("ComparisonOperator"),
                evaluation_periods=int(props.get("EvaluationPeriods", 1)),
                period=int(props["Period"]) if "Period" in props else None,
                threshold=float(props["Threshold"]) if "Threshold" in props else None,
                statistic=props.get("Statistic"),
                description=props.get("AlarmDescription"),
                dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions", [])],
                alarm_actions=props.get("AlarmActions", []),
                ok_actions=props.get("OKActions", []),
                insufficient_data_actions=props.get("InsufficientDataActions", []),
                datapoints_to_alarm=int(props["DatapointsToAlarm"]) if "DatapointsToAlarm" in props else None,
                treat_missing_data=props.get("TreatMissingData"),
                unit=props.get("Unit"),
                tags=[{"Key": t["Key"], "Value": t["Value"]} for t in props.get("Tags", [])],
            )
            return cls(name, account_id, region_name)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
            cls.delete_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            props = cloudformation_json.get("Properties", {})
            cloudwatch_backends[account_id][region_name].delete_alarms([props.get("AlarmName", resource_name)])
