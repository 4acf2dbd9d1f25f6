"""What CloudFormation makes of template.yaml's values for one stack: intrinsic functions
resolved for given parameters, pseudo parameters and stack id, so tests can check the names a
deployment would really get (their length, their characters, that two stacks differ).

Resolves Ref (parameters and pseudo parameters), Fn::Sub (both forms), Fn::Select, Fn::Split,
Fn::Join and Fn::If (the template's conditions, evaluated with Fn::Equals, Fn::Not, Fn::And,
Fn::Or and Fn::Condition). Fn::GetAtt and a Ref to a resource become ``<Name.Attribute>`` /
``<Name>``: their values exist only once deployed. Rules use Fn::Contains and
Fn::EachMemberEquals too (``holds``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


@dataclass(frozen=True)
class Stack:
    """One deployment of the template: its name, region, account, id and parameter values."""

    template: dict
    name: str
    region: str
    account: str = "123456789012"
    uuid: str = "51af3dc0-da77-11e4-872e-1234567db123"
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def stack_id(self) -> str:
        return f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.name}/{self.uuid}"

    def parameter(self, name: str) -> Any:
        declared = self.template["Parameters"][name]
        value = self.parameters.get(name, declared.get("Default"))
        if declared["Type"] == "CommaDelimitedList" and isinstance(value, str):
            return value.split(",")
        return value

    def pseudo(self, name: str) -> str | list[str]:
        return {
            "AWS::StackName": self.name,
            "AWS::StackId": self.stack_id,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.template["Parameters"]:
            return self.parameter(name)
        resource = self.template["Resources"].get(name, {})
        if resource.get("Type") in ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine"):
            # A named state machine's Ref is its ARN, made from its name (the bulk jobs' one is named).
            named = resource["Properties"].get("Name") or resource["Properties"].get("StateMachineName")
            if named is not None:
                return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{self.resolve(named)}"
        return f"<{name}>"  # a resource: known once deployed

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, value: Any) -> Any:
        """``value`` as CloudFormation would pass it on for this stack."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {key: self.resolve(item) for key, item in value.items()}
        ((function, argument),) = value.items()
        if function == "Ref":
            return self.ref(argument)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            values = {name: self.resolve(item) for name, item in variables.items()}
            return _SUB_VARIABLE.sub(lambda match: str(self._sub_variable(match.group(1), values)), text)
        if function == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if function == "Fn::Split":
            separator, text = argument
            return self.resolve(text).split(separator)
        if function == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.resolve(items))
        if function == "Fn::GetAtt":
            resource, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return f"<{resource}.{attribute}>"
        if function == "Fn::If":
            condition, if_true, if_false = argument
            return self.resolve(if_true if self.condition(condition) else if_false)
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not self.resolve(argument[0])
        if function == "Fn::And":
            return all(self.resolve(item) for item in argument)
        if function == "Fn::Or":
            return any(self.resolve(item) for item in argument)
        if function == "Fn::Contains":
            items, text = (self.resolve(item) for item in argument)
            return str(text) in [str(item) for item in items]
        if function == "Fn::EachMemberEquals":
            items, text = (self.resolve(item) for item in argument)
            return all(str(item) == str(text) for item in items)
        return {function: self.resolve(argument)}

    def _sub_variable(self, name: str, values: dict[str, Any]) -> Any:
        if name in values:
            return values[name]
        if "." in name:
            return f"<{name}>"
        return self.ref(name)

    def holds(self, rule: str) -> bool:
        """Whether the template's rule lets this stack be deployed (every assertion true
        wherever the rule's condition is)."""
        body = self.template["Rules"][rule]
        if "RuleCondition" in body and not self.resolve(body["RuleCondition"]):
            return True
        return all(self.resolve(assertion["Assert"]) for assertion in body["Assertions"])
