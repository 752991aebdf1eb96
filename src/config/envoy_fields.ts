/**
 * The fields of the Envoy v3 messages weft reads, split into the ones weft implements and the ones
 * that exist in Envoy's protos but weft does not implement yet. A key in neither list is not an Envoy
 * field at all: Envoy rejects it ("Cannot find field"), and so does weft ("unknown field").
 *
 * Sources: `api/envoy/config/{bootstrap,listener,cluster,route,core,endpoint,overload}/v3/*.proto`
 * and `api/envoy/extensions/filters/network/http_connection_manager/v3/*.proto`. The unsupported
 * lists name the common fields; a rare Envoy field missing from them is reported as unknown.
 *
 * @module
 */

/** The fields of one protobuf message. */
export interface MessageFields {
  /** Implemented by weft. */
  readonly supported: readonly string[];
  /** Valid in Envoy, not implemented by weft yet. */
  readonly unsupported: readonly string[];
}

/** Builds a table from whitespace-separated field names. */
const m = (supported: string, unsupported: string): MessageFields => ({
  supported: supported.split(/\s+/).filter(Boolean),
  unsupported: unsupported.split(/\s+/).filter(Boolean),
});

/** `envoy.config.bootstrap.v3.Bootstrap`. */
export const BOOTSTRAP = m(
  "node static_resources stats_flush_interval watchdog watchdogs admin overload_manager layered_runtime",
  `
    node_context_params dynamic_resources cluster_manager hds_config flags_path stats_sinks
    deferred_stat_options stats_config stats_flush_on_admin stats_eviction_interval tracing
    enable_dispatcher_stats header_prefix stats_server_version_override use_tcp_for_dns_lookups
    dns_resolution_config typed_dns_resolver_config bootstrap_extensions fatal_actions config_sources
    default_config_source default_socket_interface certificate_provider_instances inline_headers
    perf_tracing_file_path default_regex_engine xds_delegate_extension xds_config_tracker_extension
    listener_manager application_log_config grpc_async_client_manager_config memory_allocator_manager
  `,
);

/** `envoy.config.core.v3.Node`: id and cluster are accepted as metadata and not used. */
export const NODE = m(
  "id cluster",
  `
    metadata dynamic_parameters locality user_agent_name user_agent_version user_agent_build_version
    extensions client_features listening_addresses
  `,
);

/** `envoy.config.bootstrap.v3.Bootstrap.StaticResources`. */
export const STATIC_RESOURCES = m("listeners clusters", "secrets");

/** `envoy.config.bootstrap.v3.Admin`. */
export const ADMIN = m("address", "access_log access_log_path profile_path socket_options ignore_global_conn_limit");

/** `envoy.config.core.v3.Address`. */
export const ADDRESS = m("socket_address", "pipe envoy_internal_address");

/** `envoy.config.core.v3.SocketAddress`. */
export const SOCKET_ADDRESS = m(
  "protocol address port_value",
  "named_port resolver_name ipv4_compat network_namespace_filepath",
);

/** `envoy.config.bootstrap.v3.Watchdogs`. */
export const WATCHDOGS = m("worker_watchdog", "main_thread_watchdog");

/** `envoy.config.bootstrap.v3.Watchdog`. */
export const WATCHDOG = m(
  "miss_timeout megamiss_timeout kill_timeout multikill_timeout multikill_threshold",
  "actions max_kill_timeout_jitter",
);

/** `envoy.type.v3.Percent`. */
export const PERCENT = m("value", "");

/** `envoy.config.overload.v3.OverloadManager`. */
export const OVERLOAD_MANAGER = m(
  "resource_monitors",
  "refresh_interval actions buffer_factory_config loadshed_points",
);

/** `envoy.config.overload.v3.ResourceMonitor`. */
export const RESOURCE_MONITOR = m("name typed_config", "");

/** `envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig`. */
export const DOWNSTREAM_CONNECTIONS_CONFIG = m("@type max_active_downstream_connections", "");

/** `envoy.config.bootstrap.v3.LayeredRuntime`. */
export const LAYERED_RUNTIME = m("layers", "");

/** `envoy.config.bootstrap.v3.RuntimeLayer`: static layers only (disk, admin and RTDS layers need what weft lacks). */
export const RUNTIME_LAYER = m("name static_layer", "disk_layer admin_layer rtds_layer");

/** `envoy.config.listener.v3.Listener`, plus weft's `max_connections` extension. */
export const LISTENER = m(
  "name address filter_chains default_filter_chain per_connection_buffer_limit_bytes max_connections",
  `
    additional_addresses stat_prefix fcds_config filter_chain_matcher use_original_dst
    metadata deprecated_v1 drain_type listener_filters listener_filters_timeout
    continue_on_listener_filters_timeout transparent freebind socket_options tcp_fast_open_queue_length
    traffic_direction udp_listener_config api_listener connection_balance_config reuse_port
    enable_reuse_port access_log tcp_backlog_size max_connections_to_accept_per_socket_event bind_to_port
    internal_listener enable_mptcp ignore_global_conn_limit bypass_overload_manager
  `,
);

/** `envoy.config.listener.v3.FilterChain`. */
export const FILTER_CHAIN = m(
  "filters name filter_chain_match",
  `
    use_proxy_proto metadata transport_socket transport_socket_connect_timeout
    on_demand_configuration
  `,
);

/**
 * `envoy.config.listener.v3.FilterChainMatch`. `server_names` and `application_protocols` are read
 * from a TLS ClientHello by the tls_inspector listener filter, which weft does not have yet.
 */
export const FILTER_CHAIN_MATCH = m(
  "destination_port direct_source_prefix_ranges source_type source_prefix_ranges source_ports transport_protocol",
  "prefix_ranges address_suffix suffix_len server_names application_protocols",
);

/** `envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`. */
export const TCP_PROXY = m(
  "@type stat_prefix cluster weighted_clusters idle_timeout max_connect_attempts",
  `
    on_demand metadata_match downstream_idle_timeout upstream_idle_timeout access_log backoff_options
    hash_policy tunneling_config max_downstream_connection_duration
    max_downstream_connection_duration_jitter_percentage access_log_flush_interval
    flush_access_log_on_connected access_log_options proxy_protocol_tlvs
  `,
);

/** `...tcp_proxy.v3.TcpProxy.WeightedCluster`. */
export const TCP_PROXY_WEIGHTED_CLUSTER = m("clusters", "");

/** `...tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight`. */
export const TCP_PROXY_CLUSTER_WEIGHT = m("name weight", "metadata_match");

/** `envoy.config.listener.v3.Filter` and `...http_connection_manager.v3.HttpFilter`. */
export const FILTER = m("name typed_config", "config_discovery");

/** `envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter`. */
export const HTTP_FILTER = m("name typed_config", "config_discovery is_optional disabled");

/** `envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`. */
export const HTTP_CONNECTION_MANAGER = m(
  `
    @type codec_type stat_prefix route_config http_filters common_http_protocol_options server_name
    max_request_headers_kb stream_idle_timeout request_timeout request_headers_timeout use_remote_address
    generate_request_id xff_num_trusted_hops strip_trailing_host_dot strip_matching_host_port strip_any_host_port
    internal_address_config upgrade_configs
  `,
  `
    rds scoped_routes add_user_agent tracing http1_safe_max_connection_duration http_protocol_options
    http2_protocol_options http3_protocol_options server_header_transformation scheme_header_transformation
    drain_timeout delayed_close_timeout access_log access_log_flush_interval flush_access_log_on_new_request
    access_log_options original_ip_detection_extensions
    early_header_mutation_extensions skip_xff_append via
    preserve_external_request_id always_set_request_id_in_response forward_client_cert_details
    set_current_client_cert_details proxy_100_continue represent_ipv4_remote_address_as_ipv4_mapped_ipv6
    normalize_path merge_slashes path_with_escaped_slashes_action request_id_extension
    local_reply_config stream_error_on_invalid_http_message
    path_normalization_options proxy_status_config typed_header_validation_config
    append_x_forwarded_port append_local_overload add_proxy_protocol_connection_state
  `,
);

/** `HttpConnectionManager.InternalAddressConfig`. */
export const INTERNAL_ADDRESS_CONFIG = m("unix_sockets cidr_ranges", "");

/** `envoy.config.core.v3.CidrRange`. */
export const CIDR_RANGE = m("address_prefix prefix_len", "");

/** `envoy.config.core.v3.HttpProtocolOptions`. */
export const HTTP_PROTOCOL_OPTIONS = m(
  "idle_timeout max_requests_per_connection max_headers_count",
  "max_connection_duration max_response_headers_kb max_stream_duration headers_with_underscores_action",
);

/** `envoy.extensions.filters.http.router.v3.Router`. */
export const ROUTER = m(
  "@type",
  `
    dynamic_stats start_child_span upstream_log upstream_log_options suppress_envoy_headers
    strict_check_headers respect_expected_rq_timeout suppress_grpc_request_failure_code_stats
    upstream_http_filters
  `,
);

/** `envoy.config.route.v3.RouteConfiguration`. */
export const ROUTE_CONFIGURATION = m(
  "name virtual_hosts",
  `
    vhds internal_only_headers response_headers_to_add response_headers_to_remove request_headers_to_add
    request_headers_to_remove most_specific_header_mutations_wins validate_clusters
    max_direct_response_body_size_bytes cluster_specifier_plugins request_mirror_policies
    ignore_port_in_host_matching ignore_path_parameters_in_path_matching typed_per_filter_config metadata
  `,
);

/** `envoy.config.route.v3.VirtualHost`. */
export const VIRTUAL_HOST = m(
  "name domains routes",
  `
    matcher require_tls virtual_clusters rate_limits request_headers_to_add request_headers_to_remove
    response_headers_to_add response_headers_to_remove cors typed_per_filter_config
    include_request_attempt_count include_attempt_count_in_response retry_policy retry_policy_typed_config
    hedge_policy include_is_timeout_retry_header per_request_buffer_limit_bytes request_body_buffer_limit
    request_mirror_policies metadata
  `,
);

/** `envoy.config.route.v3.Route`. */
export const ROUTE = m(
  "name match route redirect direct_response",
  `
    filter_action non_forwarding_action metadata decorator typed_per_filter_config request_headers_to_add
    request_headers_to_remove response_headers_to_add response_headers_to_remove tracing
    per_request_buffer_limit_bytes request_body_buffer_limit stat_prefix
  `,
);

/** `envoy.config.route.v3.RouteMatch`. */
export const ROUTE_MATCH = m(
  "prefix path safe_regex case_sensitive headers",
  `
    connect_matcher path_separated_prefix path_match_policy runtime_fraction query_parameters grpc
    tls_context dynamic_metadata filter_state
  `,
);

/** `envoy.type.matcher.v3.RegexMatcher`. */
export const REGEX_MATCHER = m("google_re2 regex", "");

/** `envoy.type.matcher.v3.RegexMatcher.GoogleRE2`. */
export const GOOGLE_RE2 = m("", "max_program_size");

/** `envoy.config.route.v3.HeaderMatcher`. */
export const HEADER_MATCHER = m(
  "name exact_match safe_regex_match present_match prefix_match suffix_match contains_match string_match invert_match",
  "range_match treat_missing_header_as_empty",
);

/** `envoy.type.matcher.v3.StringMatcher`. */
export const STRING_MATCHER = m("exact prefix suffix safe_regex contains ignore_case", "custom");

/** `envoy.config.route.v3.RouteAction`. */
export const ROUTE_ACTION = m(
  "cluster weighted_clusters prefix_rewrite host_rewrite_literal timeout upgrade_configs",
  `
    cluster_header cluster_specifier_plugin inline_cluster_specifier_plugin cluster_not_found_response_code
    metadata_match regex_rewrite path_rewrite_policy auto_host_rewrite host_rewrite_header
    host_rewrite_path_regex append_x_forwarded_host idle_timeout early_data_policy retry_policy
    retry_policy_typed_config request_mirror_policies priority rate_limits include_vh_rate_limits
    hash_policy cors max_grpc_timeout grpc_timeout_offset internal_redirect_policy
    internal_redirect_action max_internal_redirects hedge_policy max_stream_duration
  `,
);

/** `HttpConnectionManager.UpgradeConfig`; a non-empty `filters` (an upgrade's own filter chain) is refused by the reader. */
export const HCM_UPGRADE_CONFIG = m("upgrade_type enabled filters", "");

/** `RouteAction.UpgradeConfig`: `connect_config` (CONNECT termination) is not supported yet. */
export const ROUTE_UPGRADE_CONFIG = m("upgrade_type enabled", "connect_config");

/** `envoy.config.route.v3.WeightedCluster`. */
export const WEIGHTED_CLUSTER = m("clusters total_weight", "runtime_key_prefix header_name use_hash_policy");

/** `envoy.config.route.v3.WeightedCluster.ClusterWeight`. */
export const CLUSTER_WEIGHT = m(
  "name weight",
  `
    cluster_header metadata_match request_headers_to_add request_headers_to_remove response_headers_to_add
    response_headers_to_remove typed_per_filter_config host_rewrite_literal
  `,
);

/** `envoy.config.route.v3.DirectResponseAction`. */
export const DIRECT_RESPONSE = m("status body", "body_format");

/** `envoy.config.core.v3.DataSource`. */
export const DATA_SOURCE = m("inline_string", "filename inline_bytes environment_variable watched_directory");

/** `envoy.config.route.v3.RedirectAction`. */
export const REDIRECT = m(
  "https_redirect scheme_redirect host_redirect port_redirect path_redirect prefix_rewrite response_code strip_query",
  "regex_rewrite",
);

/** `envoy.config.cluster.v3.Cluster`. */
export const CLUSTER = m(
  `
    name type connect_timeout lb_policy dns_refresh_rate dns_lookup_family load_assignment
  `,
  `
    per_connection_buffer_limit_bytes max_requests_per_connection
    transport_socket_matches alt_stat_name cluster_type eds_cluster_config health_checks circuit_breakers
    upstream_http_protocol_options common_http_protocol_options http_protocol_options http2_protocol_options
    typed_extension_protocol_options dns_jitter dns_failure_refresh_rate respect_dns_ttl dns_resolvers
    use_tcp_for_dns_lookups dns_resolution_config typed_dns_resolver_config wait_for_warm_on_init
    outlier_detection cleanup_interval upstream_bind_config lb_subset_config ring_hash_lb_config
    maglev_lb_config original_dst_lb_config least_request_lb_config round_robin_lb_config common_lb_config
    transport_socket metadata protocol_selection upstream_connection_options
    close_connections_on_host_health_failure ignore_health_on_host_removal filters load_balancing_policy
    lrs_server lrs_report_endpoint_metrics track_timeout_budgets upstream_config track_cluster_stats
    preconnect_policy connection_pool_per_downstream_connection
  `,
);

/** `envoy.config.endpoint.v3.ClusterLoadAssignment`. */
export const CLUSTER_LOAD_ASSIGNMENT = m("cluster_name endpoints", "named_endpoints policy");

/** `envoy.config.endpoint.v3.LocalityLbEndpoints`. */
export const LOCALITY_LB_ENDPOINTS = m(
  "lb_endpoints",
  "locality metadata leds_cluster_locality_config load_balancing_weight priority proximity",
);

/** `envoy.config.endpoint.v3.LbEndpoint`. */
export const LB_ENDPOINT = m("endpoint load_balancing_weight", "endpoint_name health_status metadata");

/** `envoy.config.endpoint.v3.Endpoint`. */
export const ENDPOINT = m("address", "health_check_config hostname additional_addresses");
