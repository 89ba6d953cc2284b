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
import { API_MANAGED_TAG } from '../adapters/aws/secrets-manager-store.ts';
import { nagResource } from './nag.ts';

/** Every channel secret's name starts with this; functions get it as `SECRET_PREFIX`. */
export const SECRET_PREFIX = 'parley/';
/** `parley/<channel>/<accountId>`: where the secret store adapter looks up an account's credentials. */
export const channelSecretName = (channel: Channel, accountId: string): string => `${SECRET_PREFIX}${channel}/${accountId}`;

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
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resourceArns: [pattern],
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
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'secretsmanager:ListSecrets has no resource-level permissions; it lists names and metadata, never values, so the webhook can tell an account id nobody registered without reading a secret per request.',
      });
    }
    return grant;
  }

  /**
   * Lets `grantee` create and replace the secrets of the channel's further accounts (credentials put through
   * the integrator API): only secrets it created, tagged as its own, and never the default account's, which
   * belongs to DevOps (an explicit deny on top).
   */
  public grantManage(grantee: iam.IGrantable, channel: Channel): void {
    const pattern = this.secretsArnPattern(channel);
    const [tagKey, tagValue] = [API_MANAGED_TAG.Key, API_MANAGED_TAG.Value];
    // It creates secrets only with its tag, and replaces only secrets that carry it: never one DevOps made.
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
        resources: [pattern],
        conditions: {
          StringEquals: { [`aws:RequestTag/${tagKey}`]: tagValue },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [tagKey] },
        },
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:PutSecretValue'],
        resources: [pattern],
        conditions: { StringEquals: { [`secretsmanager:ResourceTag/${tagKey}`]: tagValue } },
      }),
    );
    const defaultSecret = this.secrets[channel];
    if (defaultSecret) {
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          actions: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecret', 'secretsmanager:DeleteSecret'],
          resources: [defaultSecret.secretArn],
        }),
      );
    }
    const policy = grantee.grantPrincipal instanceof iam.Role ? grantee.grantPrincipal.node.tryFindChild('DefaultPolicy') : undefined;
    if (policy) {
      Validations.of(policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResource(policy, pattern)}]`,
        reason: `Creates and replaces the ${channel} secrets of accounts registered through the integrator API (${channelSecretName(channel, '<accountId>')}), named as they are registered; only secrets tagged as the API's, and the default account's secret is denied explicitly.`,
      });
    }
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
