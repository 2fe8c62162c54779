"""schemas/jarvis-config.schema.json as Python data, for the schema gate
(`validate.gate`): a valid mesh is proven valid without importlib.resources and a JSON parse.

Generated from the schema file by `pytest tests/validate/test_schema_data.py --update-golden`;
do not edit. jsonschema (invalid documents), `schema` and `init` read the file itself.
"""

from typing import Any

SCHEMA: dict[str, Any] = {'$schema': 'https://json-schema.org/draft/2020-12/schema',
 'title': 'Jarvis mesh configuration (format v1)',
 'description': 'An inference mesh: nodes with their runtimes, hosted providers, models and '
                'where they run, aliases, and routing. jarvis-config compiles it into the '
                'LiteLLM gateway config, a node routing table and docker-compose stacks.',
 'examples': [{'version': 1,
               'gateway': {'port': 4000, 'master_key': '${JARVIS_MASTER_KEY}'},
               'nodes': {'ai-max': {'address': 'ai-max.lan',
                                    'roles': ['gpu'],
                                    'memory_gb': 96,
                                    'runtimes': {'ollama': {'port': 11434}}}},
               'providers': {'openai': {'kind': 'openai', 'api_key': '${OPENAI_API_KEY}'}},
               'models': {'llama3': {'category': 'general',
                                     'runtime': 'ollama',
                                     'source': 'llama3:8b',
                                     'memory_gb': 6,
                                     'placement': {'nodes': ['ai-max']}},
                          'gpt-4o': {'category': 'general',
                                     'provider': 'openai',
                                     'source': 'gpt-4o'}},
               'aliases': {'chat': 'llama3'},
               'routing': {'fallbacks': {'llama3': ['gpt-4o']}}}],
 'type': 'object',
 'required': ['version'],
 'properties': {'version': {'title': 'Format version',
                            'description': 'Version of this input format; 1 is the only one so '
                                           'far.',
                            'examples': [1],
                            'const': 1},
                'gateway': {'$ref': '#/$defs/gateway',
                            'title': 'Gateway',
                            'description': 'The LiteLLM proxy that fronts the mesh: one '
                                           'OpenAI-compatible endpoint for every model, node '
                                           'and provider.',
                            'examples': [{'port': 4000,
                                          'master_key': '${JARVIS_MASTER_KEY}',
                                          'replicas': 1,
                                          'database': False,
                                          'litellm_version': '1.108.7'}]},
                'nodes': {'type': 'object',
                          'title': 'Nodes',
                          'description': 'The machines of the mesh, by name.',
                          'examples': [{'ai-max': {'address': 'ai-max.lan',
                                                   'roles': ['gpu'],
                                                   'memory_gb': 96,
                                                   'runtimes': {'ollama': {'port': 11434},
                                                                'vllm': {'port': 8000}}}}],
                          'propertyNames': {'$ref': '#/$defs/name',
                                            'title': 'Node name',
                                            'description': "A node's name. Letters, digits, "
                                                           "'.', '_' and '-', starting with a "
                                                           'letter or digit, at most 63 '
                                                           "characters (no '@', ':', '/' or "
                                                           'spaces: names become deployment '
                                                           "ids such as 'llama3@ai-max', "
                                                           "routing tags such as 'node:ai-max' "
                                                           'and folder names).',
                                            'examples': ['ai-max']},
                          'additionalProperties': {'$ref': '#/$defs/node',
                                                   'title': 'Node',
                                                   'description': 'A machine of the mesh that '
                                                                  'runs model servers '
                                                                  '(runtimes).',
                                                   'examples': [{'address': 'ai-max.lan',
                                                                 'roles': ['gpu'],
                                                                 'memory_gb': 96,
                                                                 'runtimes': {'ollama': {'port': 11434},
                                                                              'vllm': {'port': 8000}}}]}},
                'providers': {'type': 'object',
                              'title': 'Providers',
                              'description': 'Hosted APIs that join the mesh, by name.',
                              'examples': [{'openai': {'kind': 'openai',
                                                       'api_key': '${OPENAI_API_KEY}'}}],
                              'propertyNames': {'$ref': '#/$defs/name',
                                                'title': 'Provider name',
                                                'description': "A provider's name. Letters, "
                                                               "digits, '.', '_' and '-', "
                                                               'starting with a letter or '
                                                               'digit, at most 63 characters '
                                                               "(no '@', ':', '/' or spaces: "
                                                               'names become deployment ids '
                                                               "such as 'llama3@ai-max', "
                                                               'routing tags such as '
                                                               "'node:ai-max' and folder "
                                                               'names).',
                                                'examples': ['openai']},
                              'additionalProperties': {'$ref': '#/$defs/provider',
                                                       'title': 'Provider',
                                                       'description': 'A hosted API that joins '
                                                                      'the mesh, such as '
                                                                      'OpenAI or Anthropic.',
                                                       'examples': [{'kind': 'openai',
                                                                     'api_key': '${OPENAI_API_KEY}'},
                                                                    {'kind': 'openai-compatible',
                                                                     'api_base': 'https://llm.example.com/v1',
                                                                     'api_key': '${LLM_API_KEY}'}]}},
                'models': {'type': 'object',
                           'title': 'Models',
                           'description': 'The models the gateway serves, by the name clients '
                                          'request.',
                           'examples': [{'llama3': {'category': 'general',
                                                    'runtime': 'ollama',
                                                    'source': 'llama3:8b',
                                                    'memory_gb': 6,
                                                    'placement': {'nodes': ['ai-max']}}}],
                           'propertyNames': {'$ref': '#/$defs/name',
                                             'title': 'Model name',
                                             'description': 'The name clients request. '
                                                            "Letters, digits, '.', '_' and "
                                                            "'-', starting with a letter or "
                                                            'digit, at most 63 characters (no '
                                                            "'@', ':', '/' or spaces: names "
                                                            'become deployment ids such as '
                                                            "'llama3@ai-max', routing tags "
                                                            "such as 'node:ai-max' and folder "
                                                            'names).',
                                             'examples': ['llama3']},
                           'additionalProperties': {'$ref': '#/$defs/model',
                                                    'title': 'Model',
                                                    'description': 'A model served on nodes '
                                                                   '(with runtime and '
                                                                   'placement) or by a hosted '
                                                                   'provider (with provider). '
                                                                   'Exactly one of runtime or '
                                                                   'provider.',
                                                    'examples': [{'category': 'general',
                                                                  'runtime': 'ollama',
                                                                  'source': 'llama3:8b',
                                                                  'memory_gb': 6,
                                                                  'placement': {'nodes': ['ai-max']}},
                                                                 {'category': 'general',
                                                                  'provider': 'openai',
                                                                  'source': 'gpt-4o'}]}},
                'aliases': {'type': 'object',
                            'title': 'Aliases',
                            'description': 'Extra names for models: alias -> model or alias.',
                            'examples': [{'fast': 'llama3', 'code': 'deepseek-coder'}],
                            'propertyNames': {'$ref': '#/$defs/name',
                                              'title': 'Alias name',
                                              'description': 'A name clients may request '
                                                             "instead. Letters, digits, '.', "
                                                             "'_' and '-', starting with a "
                                                             'letter or digit, at most 63 '
                                                             "characters (no '@', ':', '/' or "
                                                             'spaces: names become deployment '
                                                             "ids such as 'llama3@ai-max', "
                                                             'routing tags such as '
                                                             "'node:ai-max' and folder names).",
                                              'examples': ['fast', 'code']},
                            'additionalProperties': {'$ref': '#/$defs/name',
                                                     'title': 'Alias target',
                                                     'description': 'The model or alias it '
                                                                    'stands for.',
                                                     'examples': ['llama3']}},
                'routing': {'$ref': '#/$defs/routing',
                            'title': 'Routing',
                            'description': 'How the gateway picks a deployment and what it '
                                           'does when one fails.',
                            'examples': [{'strategy': 'simple-shuffle',
                                          'node_pinning': 'strict',
                                          'fallbacks': {'llama3': ['gpt-4o']}}]}},
 'additionalProperties': False,
 '$defs': {'gateway': {'type': 'object',
                       'title': 'Gateway',
                       'description': 'The LiteLLM proxy that fronts the mesh: one '
                                      'OpenAI-compatible endpoint for every model, node and '
                                      'provider.',
                       'examples': [{'port': 4000,
                                     'master_key': '${JARVIS_MASTER_KEY}',
                                     'replicas': 1,
                                     'database': False,
                                     'litellm_version': '1.108.7'}],
                       'properties': {'port': {'type': 'integer',
                                               'title': 'Gateway port',
                                               'description': 'TCP port the gateway listens '
                                                              'on.',
                                               'examples': [4000],
                                               'minimum': 1,
                                               'maximum': 65535,
                                               'default': 4000},
                                      'master_key': {'$ref': '#/$defs/secret',
                                                     'title': 'Master key',
                                                     'description': 'Admin key of the gateway '
                                                                    '(LiteLLM '
                                                                    'general_settings.master_key). '
                                                                    'An environment reference '
                                                                    '`${VAR}`, never the '
                                                                    'secret itself: the '
                                                                    'gateway reads VAR from '
                                                                    'its environment at '
                                                                    'start-up, so the config '
                                                                    'can live in git.',
                                                     'examples': ['${JARVIS_MASTER_KEY}']},
                                      'keys': {'type': 'object',
                                               'title': 'API keys',
                                               'description': 'Per-client API keys, enforced '
                                                              'by the gateway without a '
                                                              'database: key name -> its '
                                                              'settings. A request with an '
                                                              'unknown key or none is refused '
                                                              'with 401; a key asking for a '
                                                              'model outside its list gets 403 '
                                                              'naming the key and the model; a '
                                                              'key over its limits gets 429. '
                                                              'The master key keeps working '
                                                              'beside them.',
                                               'examples': [{'n8n': {'key': '${JARVIS_KEY_N8N}',
                                                                     'models': ['fast',
                                                                                'phi3-mini'],
                                                                     'rpm': 600},
                                                             'agents': {'key': '${JARVIS_KEY_AGENTS}'}}],
                                               'propertyNames': {'$ref': '#/$defs/name',
                                                                 'title': 'Key name',
                                                                 'description': 'A client '
                                                                                "key's name, "
                                                                                'shown in '
                                                                                'messages, '
                                                                                'logs and the '
                                                                                'mesh docs '
                                                                                '(never the '
                                                                                'key itself). '
                                                                                'Letters, '
                                                                                "digits, '.', "
                                                                                "'_' and '-', "
                                                                                'starting with '
                                                                                'a letter or '
                                                                                'digit, at '
                                                                                'most 63 '
                                                                                'characters.',
                                                                 'examples': ['n8n']},
                                               'additionalProperties': {'$ref': '#/$defs/api_key',
                                                                        'title': 'API key',
                                                                        'description': 'One '
                                                                                       "client's "
                                                                                       'key: '
                                                                                       'the '
                                                                                       'secret '
                                                                                       'as an '
                                                                                       'environment '
                                                                                       'reference, '
                                                                                       'the '
                                                                                       'models '
                                                                                       'and '
                                                                                       'aliases '
                                                                                       'it may '
                                                                                       'call, '
                                                                                       'its '
                                                                                       'limits.',
                                                                        'examples': [{'key': '${JARVIS_KEY_N8N}',
                                                                                      'models': ['fast',
                                                                                                 'phi3-mini'],
                                                                                      'rpm': 600}]}},
                                      'replicas': {'type': 'integer',
                                                   'title': 'Gateway replicas',
                                                   'description': 'How many gateway containers '
                                                                  'run behind one address. '
                                                                  'More than 1 shares router '
                                                                  'state (rate limits, '
                                                                  'cool-downs) through Redis.',
                                                   'examples': [1, 2],
                                                   'minimum': 1,
                                                   'maximum': 64,
                                                   'default': 1},
                                      'database': {'type': 'boolean',
                                                   'title': 'Database',
                                                   'description': 'true: a Postgres database '
                                                                  'stores virtual keys, teams '
                                                                  'and spend; false: only the '
                                                                  'master key is accepted.',
                                                   'examples': [False, True],
                                                   'default': False},
                                      'litellm_version': {'type': 'string',
                                                          'title': 'LiteLLM version',
                                                          'description': 'The LiteLLM release '
                                                                         'the gateway runs '
                                                                         '(pip pin and image '
                                                                         'tag). The '
                                                                         'compromised releases '
                                                                         '1.82.7 and 1.82.8 '
                                                                         'are refused.',
                                                          'examples': ['1.108.7'],
                                                          'pattern': '^[0-9]+\\.[0-9]+\\.[0-9]+([.+-]?[A-Za-z0-9]+)*$(?!\\n)',
                                                          'default': '1.108.7'},
                                      'image': {'type': 'string',
                                                'title': 'Gateway image',
                                                'description': 'Container image for the '
                                                               'gateway, overriding the one '
                                                               'built from litellm_version.',
                                                'examples': ['ghcr.io/berriai/litellm:main-v1.108.7'],
                                                'minLength': 1,
                                                'pattern': '^\\S+$(?!\\n)'},
                                      'ingress': {'type': 'object',
                                                  'title': 'Ingress',
                                                  'description': 'Kubernetes only: publish the '
                                                                 'gateway through an Ingress '
                                                                 'for this host name. Without '
                                                                 'it the gateway is reached '
                                                                 'through its Service '
                                                                 '(port-forward, a '
                                                                 'LoadBalancer of your own, or '
                                                                 'a mesh-internal client).',
                                                  'examples': [{'host': 'llm.example.org',
                                                                'class_name': 'nginx'}],
                                                  'required': ['host'],
                                                  'properties': {'host': {'type': 'string',
                                                                          'title': 'Ingress '
                                                                                   'host',
                                                                          'description': 'The '
                                                                                         'DNS '
                                                                                         'name '
                                                                                         'clients '
                                                                                         'use '
                                                                                         'for '
                                                                                         'the '
                                                                                         'gateway.',
                                                                          'examples': ['llm.example.org'],
                                                                          'pattern': '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$(?!\\n)',
                                                                          'maxLength': 253},
                                                                 'class_name': {'type': 'string',
                                                                                'title': 'Ingress '
                                                                                         'class',
                                                                                'description': 'The '
                                                                                               "cluster's "
                                                                                               'IngressClass '
                                                                                               '(ingressClassName); '
                                                                                               'the '
                                                                                               "cluster's "
                                                                                               'default '
                                                                                               'class '
                                                                                               'when '
                                                                                               'left '
                                                                                               'out.',
                                                                                'examples': ['nginx'],
                                                                                'pattern': '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$(?!\\n)',
                                                                                'maxLength': 253}},
                                                  'additionalProperties': False}},
                       'additionalProperties': False},
           'routing': {'type': 'object',
                       'title': 'Routing',
                       'description': 'How the gateway picks a deployment and what it does '
                                      'when one fails.',
                       'examples': [{'strategy': 'simple-shuffle',
                                     'node_pinning': 'strict',
                                     'fallbacks': {'llama3': ['gpt-4o']}}],
                       'properties': {'strategy': {'type': 'string',
                                                   'title': 'Routing strategy',
                                                   'description': "LiteLLM's strategy for "
                                                                  'spreading requests over a '
                                                                  "model's deployments.",
                                                   'examples': ['simple-shuffle', 'least-busy'],
                                                   'enum': ['simple-shuffle',
                                                            'least-busy',
                                                            'usage-based-routing',
                                                            'usage-based-routing-v2',
                                                            'latency-based-routing',
                                                            'cost-based-routing'],
                                                   'default': 'simple-shuffle'},
                                      'node_pinning': {'type': 'string',
                                                       'title': 'Node pinning',
                                                       'description': 'strict: a request '
                                                                      'naming a `node` is '
                                                                      'served there or fails; '
                                                                      'prefer: it may leave '
                                                                      'that node when the node '
                                                                      'cannot serve it.',
                                                       'examples': ['strict', 'prefer'],
                                                       'enum': ['strict', 'prefer'],
                                                       'default': 'strict'},
                                      'fallbacks': {'$ref': '#/$defs/fallbacks',
                                                    'title': 'Fallbacks',
                                                    'description': 'Model or alias -> models '
                                                                   'tried, in order, when it '
                                                                   'fails.',
                                                    'examples': [{'llama3': ['gpt-4o']}]},
                                      'context_window_fallbacks': {'$ref': '#/$defs/fallbacks',
                                                                   'title': 'Context window '
                                                                            'fallbacks',
                                                                   'description': 'Model or '
                                                                                  'alias -> '
                                                                                  'models '
                                                                                  'tried when '
                                                                                  'a prompt is '
                                                                                  'too long '
                                                                                  'for it.',
                                                                   'examples': [{'llama3': ['mistral']}]},
                                      'num_retries': {'type': 'integer',
                                                      'title': 'Retries',
                                                      'description': 'How often a failed '
                                                                     'request is retried '
                                                                     'before falling back.',
                                                      'examples': [2],
                                                      'minimum': 0,
                                                      'maximum': 10,
                                                      'default': 2},
                                      'timeout': {'type': 'number',
                                                  'title': 'Answer timeout (s)',
                                                  'description': 'Seconds a node may take to '
                                                                 'send a whole non-streamed '
                                                                 'answer (and to accept the '
                                                                 'connection) before the '
                                                                 'gateway gives up on it and '
                                                                 'falls back. A runtime that '
                                                                 'accepts connections and '
                                                                 'never answers fails after '
                                                                 'this. Per model: '
                                                                 'limits.timeout.',
                                                  'examples': [45],
                                                  'exclusiveMinimum': 0,
                                                  'default': 45},
                                      'stream_timeout': {'type': 'number',
                                                         'title': 'Stream timeout (s)',
                                                         'description': 'Seconds a streamed '
                                                                        'answer may wait for '
                                                                        'its first token, and '
                                                                        'then between tokens, '
                                                                        'before the gateway '
                                                                        'gives up on the node. '
                                                                        'A stream that keeps '
                                                                        'sending tokens is '
                                                                        'never cut, however '
                                                                        'long it runs.',
                                                         'examples': [20],
                                                         'exclusiveMinimum': 0,
                                                         'default': 20},
                                      'health_check_interval': {'type': 'integer',
                                                                'title': 'Health check '
                                                                         'interval (s)',
                                                                'description': 'Seconds '
                                                                               'between the '
                                                                               "gateway's "
                                                                               'background '
                                                                               'health checks '
                                                                               'of every node '
                                                                               'deployment (a '
                                                                               'one-token '
                                                                               'request each); '
                                                                               'unpinned '
                                                                               'requests avoid '
                                                                               'a deployment '
                                                                               'whose last '
                                                                               'check failed. '
                                                                               '0 turns the '
                                                                               'checks off. '
                                                                               'Hosted '
                                                                               'providers are '
                                                                               'never checked.',
                                                                'examples': [10],
                                                                'minimum': 0,
                                                                'default': 10},
                                      'health_check_timeout': {'type': 'number',
                                                               'title': 'Health check timeout '
                                                                        '(s)',
                                                               'description': 'Seconds a '
                                                                              'health check '
                                                                              'waits for a '
                                                                              "node's answer "
                                                                              'before it marks '
                                                                              'the deployment '
                                                                              'unhealthy.',
                                                               'examples': [5],
                                                               'exclusiveMinimum': 0,
                                                               'default': 5},
                                      'cooldown': {'type': 'number',
                                                   'title': 'Cooldown (s)',
                                                   'description': 'Seconds an unpinned '
                                                                  "request's node is left "
                                                                  'alone after it failed more '
                                                                  'than allowed_fails times in '
                                                                  'a minute.',
                                                   'examples': [30],
                                                   'exclusiveMinimum': 0,
                                                   'default': 30},
                                      'allowed_fails': {'type': 'integer',
                                                        'title': 'Allowed fails',
                                                        'description': 'Failures a node '
                                                                       'deployment may have in '
                                                                       'a minute before it is '
                                                                       'cooled down.',
                                                        'examples': [1],
                                                        'minimum': 0,
                                                        'maximum': 100,
                                                        'default': 1},
                                      'list_pinned_models': {'type': 'boolean',
                                                             'title': 'List pinned models',
                                                             'description': 'true: /v1/models '
                                                                            'also lists the '
                                                                            'pinned names '
                                                                            '(`llama3@mini`, '
                                                                            '`llama3@role:gpu` '
                                                                            'when several '
                                                                            'nodes share the '
                                                                            'role), for '
                                                                            'clients that can '
                                                                            'only pick a model '
                                                                            'from a list.',
                                                             'examples': [False, True],
                                                             'default': False}},
                       'additionalProperties': False},
           'name': {'type': 'string',
                    'title': 'Name',
                    'description': "Letters, digits, '.', '_' and '-', starting with a letter "
                                   "or digit, at most 63 characters (no '@', ':', '/' or "
                                   'spaces: names become deployment ids such as '
                                   "'llama3@ai-max', routing tags such as 'node:ai-max' and "
                                   'folder names).',
                    'examples': ['ai-max', 'llama3', 'gpu'],
                    'pattern': '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$(?!\\n)'},
           'secret': {'type': 'string',
                      'title': 'Environment reference',
                      'description': 'An environment reference `${VAR}`, never the secret '
                                     'itself: the gateway reads VAR from its environment at '
                                     'start-up, so the config can live in git.',
                      'examples': ['${OPENAI_API_KEY}'],
                      'pattern': '^\\$\\{([A-Za-z_][A-Za-z0-9_]*)\\}$'},
           'runtime': {'type': ['object', 'null'],
                       'title': 'Runtime service',
                       'description': 'A model server on the node. Empty (`{}`) means the '
                                      "runtime's default port.",
                       'examples': [{},
                                    {'port': 11434},
                                    {'port': 8000, 'api_key': '${VLLM_API_KEY}'}],
                       'properties': {'port': {'type': 'integer',
                                               'title': 'Runtime port',
                                               'description': 'TCP port the runtime listens on '
                                                              "at the node's address. "
                                                              'Defaults: ollama 11434, vllm '
                                                              '8000, llamacpp 8080, '
                                                              'openai-compatible 8000.',
                                               'examples': [11434, 8000, 8080],
                                               'minimum': 1,
                                               'maximum': 65535},
                                      'api_key': {'$ref': '#/$defs/secret',
                                                  'title': 'Runtime API key',
                                                  'description': 'Key the runtime expects '
                                                                 '(e.g. vLLM --api-key). An '
                                                                 'environment reference '
                                                                 '`${VAR}`, never the secret '
                                                                 'itself: the gateway reads '
                                                                 'VAR from its environment at '
                                                                 'start-up, so the config can '
                                                                 'live in git.',
                                                  'examples': ['${VLLM_API_KEY}']}},
                       'additionalProperties': False},
           'runtimes': {'type': 'object',
                        'title': 'Runtimes',
                        'description': 'The model servers this node runs, by kind, each with '
                                       'its port.',
                        'examples': [{'ollama': {'port': 11434}, 'vllm': {'port': 8000}},
                                     {'ollama': {}}],
                        'minProperties': 1,
                        'properties': {'ollama': {'$ref': '#/$defs/runtime',
                                                  'title': 'Ollama',
                                                  'description': "Ollama's native API (default "
                                                                 'port 11434).',
                                                  'examples': [{}, {'port': 11434}]},
                                       'vllm': {'$ref': '#/$defs/runtime',
                                                'title': 'vLLM',
                                                'description': "vLLM's OpenAI-compatible "
                                                               'server (default port 8000, API '
                                                               'under /v1).',
                                                'examples': [{'port': 8000}]},
                                       'llamacpp': {'$ref': '#/$defs/runtime',
                                                    'title': 'llama.cpp',
                                                    'description': "llama.cpp's llama-server "
                                                                   '(default port 8080, API '
                                                                   'under /v1).',
                                                    'examples': [{'port': 8080}]},
                                       'openai-compatible': {'$ref': '#/$defs/runtime',
                                                             'title': 'OpenAI-compatible '
                                                                      'server',
                                                             'description': 'Any server '
                                                                            'speaking the '
                                                                            'OpenAI API under '
                                                                            '/v1 (default port '
                                                                            '8000), e.g. LM '
                                                                            'Studio, TGI, '
                                                                            'LocalAI.',
                                                             'examples': [{'port': 1234}]}},
                        'additionalProperties': False},
           'node': {'type': 'object',
                    'title': 'Node',
                    'description': 'A machine of the mesh that runs model servers (runtimes).',
                    'examples': [{'address': 'ai-max.lan',
                                  'roles': ['gpu'],
                                  'memory_gb': 96,
                                  'runtimes': {'ollama': {'port': 11434},
                                               'vllm': {'port': 8000}}}],
                    'required': ['address', 'runtimes'],
                    'properties': {'address': {'type': 'string',
                                               'title': 'Address',
                                               'description': 'Host name or IP address the '
                                                              'gateway reaches the node at (no '
                                                              'scheme, no port: ports belong '
                                                              'to runtimes).',
                                               'examples': ['ai-max.lan', '192.168.1.30'],
                                               'minLength': 1},
                                   'roles': {'type': 'array',
                                             'title': 'Roles',
                                             'description': 'Labels for this node; placements '
                                                            '(`placement: {roles: [...]}`) and '
                                                            'requests can target them.',
                                             'examples': [['gpu'], ['cpu', 'edge']],
                                             'items': {'$ref': '#/$defs/name',
                                                       'title': 'Role',
                                                       'description': 'A role label. Letters, '
                                                                      "digits, '.', '_' and "
                                                                      "'-', starting with a "
                                                                      'letter or digit, at '
                                                                      'most 63 characters (no '
                                                                      "'@', ':', '/' or "
                                                                      'spaces: names become '
                                                                      'deployment ids such as '
                                                                      "'llama3@ai-max', "
                                                                      'routing tags such as '
                                                                      "'node:ai-max' and "
                                                                      'folder names).',
                                                       'examples': ['gpu', 'cpu']},
                                             'uniqueItems': True},
                                   'memory_gb': {'type': 'number',
                                                 'title': 'Memory budget (GB)',
                                                 'description': 'Memory available to models on '
                                                                'this node; the memory_gb of '
                                                                'the models placed here must '
                                                                'fit in it.',
                                                 'examples': [96, 16],
                                                 'exclusiveMinimum': 0},
                                   'gpus': {'type': 'integer',
                                            'title': 'GPUs',
                                            'description': 'Number of GPUs handed to the '
                                                           "node's containers (default: 1 when "
                                                           "the node has the role 'gpu', else "
                                                           '0).',
                                            'examples': [1, 0],
                                            'minimum': 0},
                                   'runtimes': {'$ref': '#/$defs/runtimes',
                                                'title': 'Runtimes',
                                                'description': 'The model servers this node '
                                                               'runs, by kind, each with its '
                                                               'port.',
                                                'examples': [{'ollama': {'port': 11434}},
                                                             {'ollama': {}}]}},
                    'additionalProperties': False},
           'provider': {'type': 'object',
                        'title': 'Provider',
                        'description': 'A hosted API that joins the mesh, such as OpenAI or '
                                       'Anthropic.',
                        'examples': [{'kind': 'openai', 'api_key': '${OPENAI_API_KEY}'},
                                     {'kind': 'openai-compatible',
                                      'api_base': 'https://llm.example.com/v1',
                                      'api_key': '${LLM_API_KEY}'}],
                        'required': ['kind'],
                        'properties': {'kind': {'type': 'string',
                                                'title': 'Provider kind',
                                                'description': 'Which API this is; '
                                                               'openai-compatible takes an '
                                                               'api_base.',
                                                'examples': ['openai', 'anthropic'],
                                                'enum': ['openai',
                                                         'anthropic',
                                                         'azure',
                                                         'gemini',
                                                         'groq',
                                                         'mistral',
                                                         'openrouter',
                                                         'together_ai',
                                                         'deepseek',
                                                         'openai-compatible']},
                                       'api_key': {'$ref': '#/$defs/secret',
                                                   'title': 'Provider API key',
                                                   'description': "The provider's API key. An "
                                                                  'environment reference '
                                                                  '`${VAR}`, never the secret '
                                                                  'itself: the gateway reads '
                                                                  'VAR from its environment at '
                                                                  'start-up, so the config can '
                                                                  'live in git.',
                                                   'examples': ['${OPENAI_API_KEY}']},
                                       'api_base': {'type': 'string',
                                                    'title': 'API base URL',
                                                    'description': 'Base URL of the API '
                                                                   '(needed for '
                                                                   'openai-compatible and '
                                                                   'azure).',
                                                    'examples': ['https://llm.example.com/v1'],
                                                    'pattern': '^https?://\\S+$(?!\\n)'},
                                       'api_version': {'type': 'string',
                                                       'title': 'API version',
                                                       'description': 'API version string '
                                                                      '(Azure OpenAI).',
                                                       'examples': ['2024-06-01'],
                                                       'minLength': 1}},
                        'additionalProperties': False},
           'model': {'type': 'object',
                     'title': 'Model',
                     'description': 'A model served on nodes (with runtime and placement) or '
                                    'by a hosted provider (with provider). Exactly one of '
                                    'runtime or provider.',
                     'examples': [{'category': 'general',
                                   'runtime': 'ollama',
                                   'source': 'llama3:8b',
                                   'memory_gb': 6,
                                   'placement': {'nodes': ['ai-max']}},
                                  {'category': 'general',
                                   'provider': 'openai',
                                   'source': 'gpt-4o'}],
                     'required': ['source'],
                     'oneOf': [{'required': ['runtime']}, {'required': ['provider']}],
                     'properties': {'category': {'type': 'string',
                                                 'title': 'Category',
                                                 'description': 'What the model is for: '
                                                                'general, code, fast, '
                                                                'embedding, vision, reasoning.',
                                                 'examples': ['general', 'code'],
                                                 'enum': ['general',
                                                          'code',
                                                          'fast',
                                                          'embedding',
                                                          'vision',
                                                          'reasoning'],
                                                 'default': 'general'},
                                    'description': {'type': 'string',
                                                    'title': 'Description',
                                                    'description': 'A line for people reading '
                                                                   'the mesh.',
                                                    'examples': ['Meta Llama 3 8B, the '
                                                                 'everyday chat model.']},
                                    'runtime': {'type': 'string',
                                                'title': 'Runtime',
                                                'description': 'The runtime kind that serves '
                                                               'the model on its nodes.',
                                                'examples': ['ollama', 'vllm'],
                                                'enum': ['ollama',
                                                         'vllm',
                                                         'llamacpp',
                                                         'openai-compatible']},
                                    'provider': {'$ref': '#/$defs/name',
                                                 'title': 'Provider',
                                                 'description': 'A provider defined under '
                                                                '`providers`.',
                                                 'examples': ['openai']},
                                    'source': {'type': 'string',
                                               'title': 'Source model',
                                               'description': "The runtime's or provider's own "
                                                              'name for the model. Ollama: the '
                                                              'model tag (llama3:8b). vLLM: '
                                                              'the Hugging Face model it loads '
                                                              '(meta-llama/Llama-3.1-8B-Instruct). '
                                                              "llama.cpp: the GGUF file's name "
                                                              "in the node's models folder, "
                                                              'without .gguf and without a '
                                                              'path (phi-3-mini-4k-instruct-q4 '
                                                              'loads '
                                                              '/models/phi-3-mini-4k-instruct-q4.gguf). '
                                                              'OpenAI-compatible server or '
                                                              'hosted provider: the model name '
                                                              'it serves (gpt-4o).',
                                               'examples': ['llama3:8b',
                                                            'deepseek-ai/deepseek-coder-6.7b-instruct',
                                                            'gpt-4o'],
                                               'minLength': 1},
                                    'context_window': {'type': 'integer',
                                                       'title': 'Context window',
                                                       'description': 'Most tokens the model '
                                                                      'accepts (prompt and '
                                                                      'reply).',
                                                       'examples': [8192],
                                                       'minimum': 1},
                                    'capabilities': {'type': 'array',
                                                     'title': 'Capabilities',
                                                     'description': 'What the model can do '
                                                                    'beyond plain chat, shown '
                                                                    'to clients in /v1/models '
                                                                    'and model info. A request '
                                                                    'using a capability the '
                                                                    'model lacks (tools, '
                                                                    'images, JSON mode) is '
                                                                    'refused with 400 instead '
                                                                    'of being sent to a '
                                                                    'runtime that would ignore '
                                                                    'it.',
                                                     'examples': [['tools', 'json_mode']],
                                                     'items': {'type': 'string',
                                                               'title': 'Capability',
                                                               'description': 'tools: function '
                                                                              'calling (tools, '
                                                                              'tool_choice); '
                                                                              'parallel_tools: '
                                                                              'several tool '
                                                                              'calls in one '
                                                                              'answer; vision: '
                                                                              'image input; '
                                                                              'json_mode: '
                                                                              'response_format '
                                                                              'JSON; '
                                                                              'reasoning: '
                                                                              'reasoning_effort.',
                                                               'examples': ['tools'],
                                                               'enum': ['tools',
                                                                        'parallel_tools',
                                                                        'vision',
                                                                        'json_mode',
                                                                        'reasoning']},
                                                     'uniqueItems': True},
                                    'memory_gb': {'type': 'number',
                                                  'title': 'Memory (GB)',
                                                  'description': 'Memory the model takes on '
                                                                 'each node it is placed on.',
                                                  'examples': [6],
                                                  'exclusiveMinimum': 0},
                                    'quantization': {'type': 'string',
                                                     'title': 'Quantization',
                                                     'description': "The weights' "
                                                                    'quantization, for people '
                                                                    'and dashboards.',
                                                     'examples': ['Q4_K_M', 'AWQ'],
                                                     'minLength': 1},
                                    'placement': {'$ref': '#/$defs/placement',
                                                  'title': 'Placement',
                                                  'description': 'Where the model runs: '
                                                                 '{nodes: [...]} or {roles: '
                                                                 '[...]}. Required for runtime '
                                                                 'models; hosted models take '
                                                                 'none.',
                                                  'examples': [{'nodes': ['ai-max', 'mini']},
                                                               {'roles': ['gpu']}]},
                                    'params': {'$ref': '#/$defs/params',
                                               'title': 'Parameters',
                                               'description': 'Default request parameters.',
                                               'examples': [{'temperature': 0.7}]},
                                    'limits': {'$ref': '#/$defs/limits',
                                               'title': 'Limits',
                                               'description': 'Rate and concurrency limits per '
                                                              'deployment.',
                                               'examples': [{'rpm': 600,
                                                             'max_parallel_requests': 8}]}},
                     'additionalProperties': False},
           'placement': {'type': 'object',
                         'title': 'Placement',
                         'description': 'Where a runtime model runs: named nodes, or every '
                                        "node that has one of the roles and the model's "
                                        'runtime. Exactly one of nodes or roles.',
                         'examples': [{'nodes': ['ai-max', 'mini']}, {'roles': ['gpu']}],
                         'minProperties': 1,
                         'maxProperties': 1,
                         'properties': {'nodes': {'type': 'array',
                                                  'title': 'Nodes',
                                                  'description': 'Nodes that serve the model; '
                                                                 "each must run the model's "
                                                                 'runtime.',
                                                  'examples': [['ai-max', 'mini']],
                                                  'items': {'$ref': '#/$defs/name',
                                                            'title': 'Node name',
                                                            'description': 'A node defined '
                                                                           'under `nodes`.',
                                                            'examples': ['ai-max']},
                                                  'minItems': 1,
                                                  'uniqueItems': True},
                                        'roles': {'type': 'array',
                                                  'title': 'Roles',
                                                  'description': 'Serve the model on every '
                                                                 'node that has one of these '
                                                                 "roles and the model's "
                                                                 'runtime.',
                                                  'examples': [['gpu']],
                                                  'items': {'$ref': '#/$defs/name',
                                                            'title': 'Role',
                                                            'description': 'A role given to '
                                                                           'some node.',
                                                            'examples': ['gpu']},
                                                  'minItems': 1,
                                                  'uniqueItems': True}},
                         'additionalProperties': False},
           'params': {'type': 'object',
                      'title': 'Parameters',
                      'description': 'Default request parameters passed to the model (a '
                                     'request may override them).',
                      'examples': [{'temperature': 0.7},
                                   {'temperature': 0.2, 'max_tokens': 2048}],
                      'properties': {'temperature': {'type': 'number',
                                                     'title': 'Temperature',
                                                     'description': 'Sampling temperature, 0 '
                                                                    'to 2.',
                                                     'examples': [0.7],
                                                     'minimum': 0,
                                                     'maximum': 2},
                                     'top_p': {'type': 'number',
                                               'title': 'Top p',
                                               'description': 'Nucleus sampling probability '
                                                              'mass, 0 to 1.',
                                               'examples': [0.9],
                                               'minimum': 0,
                                               'maximum': 1},
                                     'top_k': {'type': 'integer',
                                               'title': 'Top k',
                                               'description': 'Sample from the k most likely '
                                                              'tokens.',
                                               'examples': [40],
                                               'minimum': 1},
                                     'max_tokens': {'type': 'integer',
                                                    'title': 'Max tokens',
                                                    'description': 'Most tokens to generate '
                                                                   'per reply.',
                                                    'examples': [2048],
                                                    'minimum': 1},
                                     'stop': {'type': ['string', 'array'],
                                              'title': 'Stop sequences',
                                              'description': 'A string or list of strings that '
                                                             'end the reply.',
                                              'examples': [['</s>'], '\n\n'],
                                              'items': {'type': 'string',
                                                        'title': 'Stop sequence',
                                                        'description': 'Text that ends the '
                                                                       'reply.',
                                                        'examples': ['</s>']}},
                                     'seed': {'type': 'integer',
                                              'title': 'Seed',
                                              'description': 'Random seed for reproducible '
                                                             'sampling.',
                                              'examples': [42]},
                                     'presence_penalty': {'type': 'number',
                                                          'title': 'Presence penalty',
                                                          'description': 'Penalise tokens '
                                                                         'already present, -2 '
                                                                         'to 2.',
                                                          'examples': [0.5],
                                                          'minimum': -2,
                                                          'maximum': 2},
                                     'frequency_penalty': {'type': 'number',
                                                           'title': 'Frequency penalty',
                                                           'description': 'Penalise frequent '
                                                                          'tokens, -2 to 2.',
                                                           'examples': [0.5],
                                                           'minimum': -2,
                                                           'maximum': 2}},
                      'additionalProperties': False},
           'limits': {'type': 'object',
                      'title': 'Limits',
                      'description': 'Rate and concurrency limits per deployment (per node, or '
                                     'at the provider).',
                      'examples': [{'rpm': 600, 'max_parallel_requests': 8}],
                      'properties': {'rpm': {'type': 'integer',
                                             'title': 'Requests per minute',
                                             'description': 'Most requests per minute.',
                                             'examples': [600],
                                             'minimum': 1},
                                     'tpm': {'type': 'integer',
                                             'title': 'Tokens per minute',
                                             'description': 'Most tokens per minute.',
                                             'examples': [200000],
                                             'minimum': 1},
                                     'max_parallel_requests': {'type': 'integer',
                                                               'title': 'Parallel requests',
                                                               'description': 'Most requests '
                                                                              'in flight at '
                                                                              'once.',
                                                               'examples': [8],
                                                               'minimum': 1},
                                     'timeout': {'type': 'number',
                                                 'title': 'Timeout (s)',
                                                 'description': 'Seconds before a request is '
                                                                'abandoned.',
                                                 'examples': [120],
                                                 'exclusiveMinimum': 0}},
                      'additionalProperties': False},
           'fallbacks': {'type': 'object',
                         'title': 'Fallback chains',
                         'description': 'Model or alias name -> models or aliases tried in '
                                        'order.',
                         'examples': [{'llama3': ['gpt-4o']}],
                         'propertyNames': {'$ref': '#/$defs/name',
                                           'title': 'Model or alias',
                                           'description': 'The model that fails.',
                                           'examples': ['llama3']},
                         'additionalProperties': {'type': 'array',
                                                  'title': 'Fallback models',
                                                  'description': 'Models or aliases tried in '
                                                                 'order when this one fails.',
                                                  'examples': [['gpt-4o']],
                                                  'items': {'$ref': '#/$defs/name',
                                                            'title': 'Fallback',
                                                            'description': 'A model or alias '
                                                                           'name.',
                                                            'examples': ['gpt-4o']},
                                                  'minItems': 1,
                                                  'uniqueItems': True}},
           'api_key': {'type': 'object',
                       'title': 'API key',
                       'description': "One client's key: the secret as an environment "
                                      'reference, the models and aliases it may call, its '
                                      'limits.',
                       'examples': [{'key': '${JARVIS_KEY_N8N}',
                                     'models': ['fast', 'phi3-mini'],
                                     'rpm': 600}],
                       'required': ['key'],
                       'properties': {'key': {'$ref': '#/$defs/secret',
                                              'title': 'Key',
                                              'description': 'The key clients send '
                                                             '(Authorization: Bearer ...). An '
                                                             'environment reference `${VAR}`, '
                                                             'never the key itself.',
                                              'examples': ['${JARVIS_KEY_N8N}']},
                                      'models': {'type': 'array',
                                                 'title': 'Allowed models',
                                                 'description': 'Models and aliases this key '
                                                                'may call (an alias allows the '
                                                                'model it names). Absent: '
                                                                'every model.',
                                                 'examples': [['fast', 'phi3-mini']],
                                                 'items': {'$ref': '#/$defs/name',
                                                           'title': 'Model or alias',
                                                           'description': 'A model or alias '
                                                                          'this key may call.',
                                                           'examples': ['fast']},
                                                 'minItems': 1,
                                                 'uniqueItems': True},
                                      'rpm': {'type': 'integer',
                                              'title': 'Requests per minute',
                                              'description': 'Most requests per minute for '
                                                             'this key; more are answered 429.',
                                              'examples': [600],
                                              'minimum': 1},
                                      'tpm': {'type': 'integer',
                                              'title': 'Tokens per minute',
                                              'description': 'Most tokens per minute for this '
                                                             'key; more are answered 429.',
                                              'examples': [200000],
                                              'minimum': 1},
                                      'max_parallel_requests': {'type': 'integer',
                                                                'title': 'Parallel requests',
                                                                'description': 'Most requests '
                                                                               'of this key in '
                                                                               'flight at '
                                                                               'once; more are '
                                                                               'answered 429.',
                                                                'examples': [4],
                                                                'minimum': 1}},
                       'additionalProperties': False}}}
