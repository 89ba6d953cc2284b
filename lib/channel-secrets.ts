/**
 * One Secrets Manager secret per enabled channel for its default account, holding the connector's
 * credentials as a flat JSON object of the connector's own names. The stack creates each secret with a
 * placeholder; DevOps put the real values in (docs/deploy.md), so no credential ever passes through code,
 * templates or CI.
 */
import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { Channel } from '../domain/content.ts';
import { DEFAULT_ACCOUNT } from '../domain/ingest.ts';
import { API_MANAGED_SEGMENT } from '../adapters/aws/secrets-manager-store.ts';
import { nagResource } from './nag.ts';

/** Every channel secret's name starts with this; functions get it as `SECRET_PREFIX`. */
export const SECRET_PREFIX = 'parley/';
/** `parley/<channel>/<accountId>`: where the secret store adapter looks up an account's credentials. */
export const channelSecretName = (channel: Channel, accountId: string): string => `${SECRET_PREFIX}${channel}/${accountId}`;
/** `parley/api/<channel>/<accountId>`: where the integrator API keeps the credentials it is given. */
export const apiSecretName = (channel: Channel, accountId: string): string =>
  `${SECRET_PREFIX}${API_MANAGED_SEGMENT}${channel}/${accountId}`;

export interface ChannelSecretsProps {
  /** The credential names each channel's connector reads, inbound ones first. */
  readonly credentialNames: Readonly<Partial<Record<Channel, readonly string[]>>>;
}

export class ChannelSecrets extends Construct {
  /** The default account's secret of each channel. */
  public readonly secrets: Readonly<Partial<Record<Channel, secretsmanager.Secret>>>;

  constructor(scope: Construct, id: string, props: ChannelSecretsProps) {
    super(scope, id);
    const secrets: Partial<Record<Channel, secretsmanager.Secret>> = {};
    for (const [channel, names] of Object.entries(props.credentialNames) as [Channel, readonly string[]][]) {
      if (names.length === 0) throw new Error(`Channel ${channel} must name at least one credential, but none was provided`);
      const secret = new secretsmanager.Secret(this, channel, {
        secretName: channelSecretName(channel, DEFAULT_ACCOUNT),
        description: `Parley ${channel} credentials of the default account: JSON with ${names.join(', ')}. Put the real values with put-secret-value (docs/deploy.md).`,
        // A placeholder: every credential empty, so the channel counts as not configured (its webhook
        // answers 404) until DevOps put the real values; the generated value (not a credential) is there
        // for a webhook secret DevOps may want to use.
        generateSecretString: {
          secretStringTemplate: JSON.stringify(Object.fromEntries(names.map((name) => [name, '']))),
          generateStringKey: 'generatedRandomValue',
          excludePunctuation: true,
          passwordLength: 48,
        },
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: `The ${channel} credentials are issued by the provider (bot token, app secret) and can only be rotated there; DevOps replace them with put-secret-value.`,
      });
      secrets[channel] = secret;
    }
    this.secrets = secrets;
  }

  /**
   * Lets `grantee` read every account's secret of `channel`: the default one created here and the further
   * accounts (`/webhooks/{channel}/{accountId}`) that DevOps add without a redeploy.
   */
  public grantRead(grantee: iam.IGrantable, channel: Channel): iam.Grant {
    const pattern = this.secretsArnPattern(channel);
    const apiPattern = this.apiSecretsArnPattern(channel);
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resourceArns: [pattern, apiPattern],
    });
    // Names only, no values: which accounts have a secret, so an account id nobody registered (webhook URLs
    // carry ids anyone can make up) costs no GetSecretValue. ListSecrets supports no resource-level scope.
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:ListSecrets'], resources: ['*'] }));
    const policy = grantee.grantPrincipal instanceof iam.Role ? grantee.grantPrincipal.node.tryFindChild('DefaultPolicy') : undefined;
    if (policy) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResource(policy, pattern)}]`,
        reason: `Reads the ${channel} secrets of every account (${channelSecretName(channel, DEFAULT_ACCOUNT)}, and ${channelSecretName(channel, '<accountId>')} added by DevOps without a redeploy); secret ARNs end in a random suffix, so even one name needs a wildcard.`,
      });
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResource(policy, apiPattern)}]`,
        reason: `Reads the ${channel} credentials put through the integrator API (${apiSecretName(channel, '<accountId>')}), one secret per account registered at run time; secret ARNs end in a random suffix, so even one name needs a wildcard.`,
      });
      Validations.of(policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'secretsmanager:ListSecrets has no resource-level permissions; it lists names and metadata, never values, so the webhook can tell an account id nobody registered without reading a secret per request.',
      });
    }
    return grant;
  }

  /**
   * Lets `grantee` create and replace the credentials of the channel's further accounts put through the
   * integrator API: only under the API's own prefix (`parley/api/<channel>/`), never a secret DevOps made,
   * whatever its name, and with no tagging or resource-policy rights that could widen that.
   */
  public grantManage(grantee: iam.IGrantable, channel: Channel): void {
    const apiPattern = this.apiSecretsArnPattern(channel);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue'], resources: [apiPattern] }),
    );
    const policy = grantee.grantPrincipal instanceof iam.Role ? grantee.grantPrincipal.node.tryFindChild('DefaultPolicy') : undefined;
    if (policy) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResource(policy, apiPattern)}]`,
        reason: `Creates and replaces the ${channel} credentials of accounts registered through the integrator API (${apiSecretName(channel, '<accountId>')}), named as they are registered; never a secret outside that prefix, so never one DevOps made.`,
      });
    }
  }

  /** `arn:…:secret:parley/api/<channel>/*`: the channel's credentials put through the integrator API. */
  public apiSecretsArnPattern(channel: Channel): string {
    return Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${apiSecretName(channel, '')}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** `arn:…:secret:parley/<channel>/*`: every account's secret of the channel. */
  public secretsArnPattern(channel: Channel): string {
    return Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${channelSecretName(channel, '')}*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }
}
