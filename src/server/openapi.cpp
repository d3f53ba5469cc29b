// The OpenAPI 3.1 document of the server's API. tests/server/test_openapi.py validates real
// responses against these schemas, so this document stays true.
#include "server/http_server.h"

#include <nlohmann/json.hpp>

namespace kaiyuan::server {
namespace {

using nlohmann::ordered_json;

ordered_json ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }
ordered_json nullable(const std::string& type) { return {{"type", ordered_json::array({type, "null"})}}; }

ordered_json json_response(const std::string& description, const std::string& schema) {
  return {{"description", description}, {"content", {{"application/json", {{"schema", ref(schema)}}}}}};
}

ordered_json errors() {
  return {{"400", json_response("Invalid request (bad JSON, wrong types, prompt too long)", "Error")},
          {"401", json_response("Missing or wrong API key", "Error")},
          {"404", json_response("Unknown model", "Error")},
          {"413", json_response("Request body larger than --max-body", "Error")},
          {"503", json_response("Every slot busy and the queue full (see Retry-After)", "Error")}};
}

ordered_json schemas() {
  ordered_json s;
  s["Error"] = {{"type", "object"},
                {"required", {"error"}},
                {"properties",
                 {{"error",
                   {{"type", "object"},
                    {"required", {"message", "type", "param", "code"}},
                    {"properties",
                     {{"message", {{"type", "string"}}},
                      {"type", {{"type", "string"}}},
                      {"param", nullable("string")},
                      {"code", nullable("string")}}}}}}}};
  s["Usage"] = {{"type", "object"},
                {"required", {"prompt_tokens", "completion_tokens", "total_tokens"}},
                {"properties",
                 {{"prompt_tokens", {{"type", "integer"}, {"minimum", 0}}},
                  {"completion_tokens", {{"type", "integer"}, {"minimum", 0}}},
                  {"total_tokens", {{"type", "integer"}, {"minimum", 0}}}}}};
  s["Model"] = {{"type", "object"},
                {"required", {"id", "object", "created", "owned_by"}},
                {"properties",
                 {{"id", {{"type", "string"}}},
                  {"object", {{"const", "model"}}},
                  {"created", {{"type", "integer"}}},
                  {"owned_by", {{"type", "string"}}}}}};
  s["ModelList"] = {{"type", "object"},
                    {"required", {"object", "data"}},
                    {"properties", {{"object", {{"const", "list"}}}, {"data", {{"type", "array"}, {"items", ref("Model")}}}}}};
  s["Health"] = {{"type", "object"},
                 {"required", {"status"}},
                 {"properties",
                  {{"status", {{"const", "ok"}}},
                   {"slots", {{"type", "integer"}}},
                   {"active", {{"type", "integer"}}},
                   {"queued", {{"type", "integer"}}}}}};
  const ordered_json finish = {{"enum", {"stop", "length", "tool_calls", nullptr}}};
  s["ToolCall"] = {{"type", "object"},
                   {"required", {"id", "type", "function"}},
                   {"properties",
                    {{"index", {{"type", "integer"}}},
                     {"id", {{"type", "string"}}},
                     {"type", {{"const", "function"}}},
                     {"function",
                      {{"type", "object"},
                       {"required", {"name", "arguments"}},
                       {"properties", {{"name", {{"type", "string"}}}, {"arguments", {{"type", "string"}}}}}}}}}};
  // A streamed piece of a call (OpenAI's ChatCompletionMessageToolCallChunk): the first piece of a
  // call has id, type and name; later ones only index and an arguments fragment.
  s["ToolCallChunk"] = {{"type", "object"},
                        {"required", {"index", "function"}},
                        {"properties",
                         {{"index", {{"type", "integer"}}},
                          {"id", {{"type", "string"}}},
                          {"type", {{"const", "function"}}},
                          {"function",
                           {{"type", "object"},
                            {"required", {"arguments"}},
                            {"properties", {{"name", {{"type", "string"}}}, {"arguments", {{"type", "string"}}}}}}}}}};
  s["TopLogprob"] = {{"type", "object"},
                     {"required", {"token", "logprob", "bytes"}},
                     {"properties",
                      {{"token", {{"type", "string"}}},
                       {"logprob", {{"type", "number"}}},
                       {"bytes", {{"type", "array"}, {"items", {{"type", "integer"}}}}}}}};
  s["TokenLogprob"] = {{"type", "object"},
                       {"required", {"token", "logprob", "bytes", "top_logprobs"}},
                       {"properties",
                        {{"token", {{"type", "string"}}},
                         {"logprob", {{"type", "number"}}},
                         {"bytes", {{"type", "array"}, {"items", {{"type", "integer"}}}}},
                         {"top_logprobs", {{"type", "array"}, {"items", ref("TopLogprob")}}}}}};
  s["ChatLogprobs"] = {{"type", ordered_json::array({"object", "null"})},
                       {"properties", {{"content", {{"type", "array"}, {"items", ref("TokenLogprob")}}}}}};
  s["ChatCompletion"] = {
      {"type", "object"},
      {"required", {"id", "object", "created", "model", "choices", "usage"}},
      {"properties",
       {{"id", {{"type", "string"}}},
        {"object", {{"const", "chat.completion"}}},
        {"created", {{"type", "integer"}}},
        {"model", {{"type", "string"}}},
        {"usage", ref("Usage")},
        {"choices",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"required", {"index", "message", "finish_reason", "logprobs"}},
            {"properties",
             {{"index", {{"type", "integer"}}},
              {"finish_reason", finish},
              {"logprobs", ref("ChatLogprobs")},
              {"message",
               {{"type", "object"},
                {"required", {"role", "content"}},
                {"properties",
                 {{"role", {{"const", "assistant"}}},
                  {"content", nullable("string")},
                  {"reasoning_content", {{"type", "string"}}},
                  {"tool_calls", {{"type", "array"}, {"items", ref("ToolCall")}}}}}}}}}}}}}}}};
  s["ChatCompletionChunk"] = {
      {"type", "object"},
      {"required", {"id", "object", "created", "model", "choices"}},
      {"properties",
       {{"id", {{"type", "string"}}},
        {"object", {{"const", "chat.completion.chunk"}}},
        {"created", {{"type", "integer"}}},
        {"model", {{"type", "string"}}},
        {"usage", {{"oneOf", ordered_json::array({ref("Usage"), {{"type", "null"}}})}}},
        {"choices",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"required", {"index", "delta", "finish_reason"}},
            {"properties",
             {{"index", {{"type", "integer"}}},
              {"finish_reason", finish},
              {"logprobs", ref("ChatLogprobs")},
              {"delta",
               {{"type", "object"},
                {"properties",
                 {{"role", {{"const", "assistant"}}},
                  {"content", {{"type", "string"}}},
                  {"reasoning_content", {{"type", "string"}}},
                  {"tool_calls", {{"type", "array"}, {"items", ref("ToolCallChunk")}}}}}}}}}}}}}}}};
  s["CompletionLogprobs"] = {
      {"type", ordered_json::array({"object", "null"})},
      {"properties",
       {{"tokens", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"token_logprobs", {{"type", "array"}, {"items", {{"type", "number"}}}}},
        {"top_logprobs", {{"type", "array"}, {"items", {{"type", "object"}, {"additionalProperties", {{"type", "number"}}}}}}},
        {"text_offset", {{"type", "array"}, {"items", {{"type", "integer"}}}}}}}};
  const ordered_json completion_choice = {{"type", "object"},
                                          {"required", {"index", "text", "finish_reason", "logprobs"}},
                                          {"properties",
                                           {{"index", {{"type", "integer"}}},
                                            {"text", {{"type", "string"}}},
                                            {"logprobs", ref("CompletionLogprobs")},
                                            {"finish_reason", finish}}}};
  s["Completion"] = {{"type", "object"},
                     {"required", {"id", "object", "created", "model", "choices"}},
                     {"properties",
                      {{"id", {{"type", "string"}}},
                       {"object", {{"const", "text_completion"}}},
                       {"created", {{"type", "integer"}}},
                       {"model", {{"type", "string"}}},
                       {"usage", {{"oneOf", ordered_json::array({ref("Usage"), {{"type", "null"}}})}}},
                       {"choices", {{"type", "array"}, {"items", completion_choice}}}}}};
  s["ChatCompletionRequest"] = {
      {"type", "object"},
      {"required", {"model", "messages"}},
      {"properties",
       {{"model", {{"type", "string"}}},
        {"messages", {{"type", "array"}, {"minItems", 1}, {"items", {{"type", "object"}, {"required", {"role"}}}}}},
        {"max_tokens", {{"type", "integer"}, {"minimum", 0}}},
        {"max_completion_tokens", {{"type", "integer"}, {"minimum", 0}}},
        {"temperature", {{"type", "number"}, {"minimum", 0}, {"maximum", 2}}},
        {"top_p", {{"type", "number"}, {"exclusiveMinimum", 0}, {"maximum", 1}}},
        {"n", {{"type", "integer"}, {"minimum", 1}, {"maximum", 128}}},
        {"stop", {{"oneOf", ordered_json::array({{{"type", "string"}}, {{"type", "array"}, {"maxItems", 4}, {"items", {{"type", "string"}}}}})}}},
        {"seed", {{"type", "integer"}}},
        {"presence_penalty", {{"type", "number"}, {"minimum", -2}, {"maximum", 2}}},
        {"frequency_penalty", {{"type", "number"}, {"minimum", -2}, {"maximum", 2}}},
        {"logit_bias", {{"type", "object"}, {"additionalProperties", {{"type", "number"}, {"minimum", -100}, {"maximum", 100}}}}},
        {"logprobs", {{"type", "boolean"}}},
        {"top_logprobs", {{"type", "integer"}, {"minimum", 0}, {"maximum", 20}}},
        {"stream", {{"type", "boolean"}}},
        {"stream_options", {{"type", "object"}, {"properties", {{"include_usage", {{"type", "boolean"}}}}}}},
        {"tools", {{"type", "array"}, {"items", {{"type", "object"}}}}},
        {"tool_choice", {{"oneOf", ordered_json::array({{{"type", "string"}}, {{"type", "object"}}})}}},
        {"user", {{"type", "string"}}}}}};
  s["CompletionRequest"] = {
      {"type", "object"},
      {"required", {"model", "prompt"}},
      {"properties",
       {{"model", {{"type", "string"}}},
        {"prompt", {{"oneOf", ordered_json::array({{{"type", "string"}}, {{"type", "array"}}})}}},
        {"max_tokens", {{"type", "integer"}, {"minimum", 0}}},
        {"logprobs", {{"type", "integer"}, {"minimum", 0}, {"maximum", 5}}},
        {"temperature", {{"type", "number"}, {"minimum", 0}, {"maximum", 2}}},
        {"n", {{"type", "integer"}, {"minimum", 1}, {"maximum", 128}}},
        {"stream", {{"type", "boolean"}}}}}};
  return s;
}

ordered_json post(const std::string& summary, const std::string& request, const std::string& response,
                  const std::string& chunk) {
  ordered_json ok = {{"description", "The completion; with \"stream\": true, server-sent events of " + chunk +
                                         " objects ending with data: [DONE]"},
                     {"content",
                      {{"application/json", {{"schema", ref(response)}}},
                       {"text/event-stream", {{"schema", {{"type", "string"}}}}}}}};
  ordered_json responses = errors();
  responses["200"] = ok;
  return {{"post",
           {{"summary", summary},
            {"requestBody", {{"required", true}, {"content", {{"application/json", {{"schema", ref(request)}}}}}}},
            {"responses", responses}}}};
}

}  // namespace

const std::string& openapi_document() {
  static const std::string doc = [] {
    ordered_json d;
    d["openapi"] = "3.1.0";
    d["info"] = {{"title", "kaiyuan OpenAI-compatible API"}, {"version", "0.1.0"}};
    d["components"] = {{"schemas", schemas()},
                       {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}};
    d["security"] = ordered_json::array({{{"bearer", ordered_json::array()}}});
    ordered_json paths;
    paths["/v1/chat/completions"] = post("Chat completion", "ChatCompletionRequest", "ChatCompletion", "ChatCompletionChunk");
    paths["/v1/completions"] = post("Text completion", "CompletionRequest", "Completion", "Completion");
    // Every route but /health answers 401 without the API key (when the server has one).
    const ordered_json no_key = json_response("Missing or wrong API key", "Error");
    paths["/v1/models"] = {{"get", {{"summary", "The served model"},
                                    {"responses", {{"200", json_response("Models", "ModelList")}, {"401", no_key}}}}}};
    paths["/health"] = {{"get",
                         {{"summary", "Liveness (no API key needed)"},
                          {"security", ordered_json::array()},
                          {"responses", {{"200", json_response("Healthy", "Health")}}}}}};
    paths["/metrics"] = {{"get",
                          {{"summary", "Prometheus metrics"},
                           {"responses",
                            {{"200", {{"description", "Prometheus text format"},
                                      {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}}},
                             {"401", no_key}}}}}};
    paths["/openapi.json"] = {{"get", {{"summary", "This document"}, {"responses", {{"200", {{"description", "OpenAPI 3.1"}}}, {"401", no_key}}}}}};
    d["paths"] = paths;
    return d.dump(1);
  }();
  return doc;
}

}  // namespace kaiyuan::server
