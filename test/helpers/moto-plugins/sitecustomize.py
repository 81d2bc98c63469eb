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


# moto 5.2.1 finds a change set given by name (not ARN) by its name alone, across every stack of the
# account. AWS scopes a change set name to its stack ("The name of the change set. The name must be
# unique among all change sets that are associated with the specified stack", CreateChangeSet API
# reference), and DescribeChangeSet, ExecuteChangeSet and DeleteChangeSet take StackName with a name.
# Both CDK stacks use toolkit-lib's "cdk-deploy-change-set", so on moto a second deploy (toolkit-lib
# deletes the old one, creates, then polls DescribeChangeSet) read the *other* stack's executed change
# set and waited forever. This resolves a name to the newest change set of the named stack, and
# answers ChangeSetNotFound (as AWS does) when that stack has none by that name; deleting one that is
# not there succeeds, as on AWS.
# Importing moto's CloudFormation here would load nearly every moto service at start-up (its
# template parser imports them all) and slow the server's start several-fold on a busy machine, so
# the patch is applied when moto itself first imports moto.cloudformation.responses.
import sys as _watchpoint_sys


def _watchpoint_patch_change_sets():
    import contextvars

    from moto.cloudformation.exceptions import CloudFormationError
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.responses import CloudFormationResponse

    stack_var = contextvars.ContextVar("watchpoint_change_set_stack", default=None)

    class WatchpointChangeSetNotFound(CloudFormationError):
        # AWS: error code ChangeSetNotFound (the SDK's ChangeSetNotFoundException), which toolkit-lib
        # waits for after DeleteChangeSet; moto answers ValidationError.
        code = "ChangeSetNotFound"

    def resolve(backend, name):
        if name in backend.change_sets:
            return name
        stack = stack_var.get()
        matches = [
            change_set_id
            for change_set_id, change_set in backend.change_sets.items()
            if change_set.change_set_name == name and (not stack or change_set.stack.name == stack or change_set.stack.stack_id == stack)
        ]
        if not matches:
            raise WatchpointChangeSetNotFound(f"ChangeSet [{name}] does not exist")
        return matches[-1]

    def with_stack(method):
        def wrapped(self):
            token = stack_var.set(self._get_param("StackName"))
            try:
                return method(self)
            finally:
                stack_var.reset(token)

        return wrapped

    for name in ("describe_change_set", "delete_change_set", "execute_change_set"):
        setattr(CloudFormationResponse, name, with_stack(getattr(CloudFormationResponse, name)))
    describe, delete, execute = CloudFormationBackend.describe_change_set, CloudFormationBackend.delete_change_set, CloudFormationBackend.execute_change_set
    CloudFormationBackend.describe_change_set = lambda self, change_set_name: describe(self, resolve(self, change_set_name))
    def delete_quietly(self, change_set_name):
        # AWS: "The delete request is successful as long as the stack exists (even if the change set
        # does not exist)", as toolkit-lib's cleanupOldChangeset relies on before each change set.
        try:
            resolved = resolve(self, change_set_name)
        except WatchpointChangeSetNotFound:
            return None
        return delete(self, resolved)

    CloudFormationBackend.delete_change_set = delete_quietly
    CloudFormationBackend.execute_change_set = lambda self, change_set_name, stack_name=None: execute(self, resolve(self, change_set_name), stack_name)


class _WatchpointPatchOnImport:
    """A meta-path finder that runs the patch right after moto.cloudformation.responses is loaded."""

    target = "moto.cloudformation.responses"

    def find_spec(self, fullname, path, target=None):
        if fullname != self.target:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module):
            original(module)
            _watchpoint_sys.meta_path[:] = [finder for finder in _watchpoint_sys.meta_path if not isinstance(finder, _WatchpointPatchOnImport)]
            _watchpoint_patch_change_sets()

        loader.exec_module = exec_module
        return spec


_watchpoint_sys.meta_path.insert(0, _WatchpointPatchOnImport())
