/**
 * Helpers for cdk-nag acknowledgements that name one finding exactly, so an acknowledgement never hides
 * a finding it was not written for.
 */
import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * How cdk-nag spells a resource in a granular finding (`AwsSolutions-IAM5[Resource::…]`): the resolved
 * value, with `Fn::Join` flattened and `Ref`s written `<AWS::Region>`. An ARN is literal when the stack has
 * an account and region, and full of pseudo parameters when it is environment-agnostic.
 */
export function nagResource(scope: IConstruct, value: string): string {
  const flatten = (node: unknown): string => {
    if (typeof node === 'string') return node;
    if (typeof node === 'object' && node !== null) {
      if ('Fn::Join' in node) {
        const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
        return parts.map(flatten).join(delimiter);
      }
      if ('Ref' in node) return `<${String(node.Ref)}>`;
      if ('Fn::GetAtt' in node) {
        const [resource, attribute] = node['Fn::GetAtt'] as [string, string];
        return `<${resource}.${attribute}>`;
      }
    }
    return JSON.stringify(node);
  };
  return flatten(Stack.of(scope).resolve(value));
}
