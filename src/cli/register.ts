// Wires the operator views into the host: the `parallel-agents` CLI root command (lazy, descriptor-backed;
// the manifest's cliCommands carries the same row), the gateway methods it calls, and the chat command.
// Touches no runtime API at register time: in cli-metadata mode `api.runtime` throws.
import type { PluginConfig } from "../config.js";
import { type HostModelApis } from "../models/ladder.js";
import { type ModelHost, hostModelApis } from "../models/host-apis.js";
import { type Cmd, registerCommands } from "./commands.js";
import { type ChatCommandApi, registerChatCommand } from "./chat-command.js";
import { type GatewayMethodApi, registerGatewayMethods } from "./gateway-methods.js";

export const CLI_DESCRIPTOR = {
  name: "parallel-agents",
  description: "Operate parallel-agents batches: status, show, stats, cancel, doctor",
  hasSubcommands: true,
};

export interface CliApi extends GatewayMethodApi, ChatCommandApi {
  pluginConfig?: Record<string, unknown>;
  config?: unknown;
  runtime?: unknown;
  registerCli?(
    registrar: (ctx: { program: unknown; config?: unknown }) => void | Promise<void>,
    opts?: { descriptors?: (typeof CLI_DESCRIPTOR)[] },
  ): void;
}

export function registerOperatorCli(api: CliApi, config: PluginConfig): void {
  const runtime = () => api.runtime as { state?: { resolveStateDir?(): string }; modelAuth?: HostModelApis["modelAuth"] } | undefined;
  const views = {
    config,
    hostConfig: () => api.config,
    host: () => {
      try {
        return hostModelApis(api as ModelHost); // the host's provider plugins; the agents' shared model policy
      } catch {
        return {};
      }
    },
  };
  registerGatewayMethods(api, views);
  registerChatCommand(api, views); // `/parallel-agents …` in a chat, scoped to that conversation's agent
  api.registerCli?.(
    ({ program, config: hostConfig }) => {
      registerCommands(program as Cmd, {
        hostConfig: hostConfig ?? api.config,
        pluginConfig: api.pluginConfig,
        stateDir: () => runtime()?.state?.resolveStateDir?.(),
      });
    },
    { descriptors: [CLI_DESCRIPTOR] },
  );
}
