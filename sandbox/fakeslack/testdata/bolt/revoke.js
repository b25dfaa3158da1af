// A minimal /revoke app on Bolt for JavaScript, run by bolt_test.go against the fake workspace:
// it acks the command, posts to the channel and opens a modal from the command's trigger_id.
const { App, LogLevel } = require('@slack/bolt');

const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  appToken: process.env.SLACK_APP_TOKEN,
  socketMode: true,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
  logLevel: LogLevel.WARN,
});

app.command('/revoke', async ({ command, ack, client }) => {
  await ack();
  await client.chat.postMessage({
    channel: command.channel_id,
    text: `Revocation requested by <@${command.user_id}>`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `Revocation requested by <@${command.user_id}>` } },
      {
        type: 'actions',
        elements: [
          { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: 'r1' },
          { type: 'button', action_id: 'reject', text: { type: 'plain_text', text: 'Reject' }, value: 'r1' },
        ],
      },
    ],
  });
  await client.views.open({
    trigger_id: command.trigger_id,
    view: {
      type: 'modal',
      callback_id: 'revoke',
      title: { type: 'plain_text', text: 'Revoke access' },
      submit: { type: 'plain_text', text: 'Request' },
      blocks: [
        {
          type: 'input',
          block_id: 'reason',
          label: { type: 'plain_text', text: 'Reason' },
          element: { type: 'plain_text_input', action_id: 'reason' },
        },
      ],
    },
  });
});

(async () => {
  await app.start();
  console.log('READY');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});

process.on('SIGTERM', () => {
  app.stop().finally(() => process.exit(0));
});
