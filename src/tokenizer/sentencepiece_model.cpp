// Protobuf wire-format decoding of tokenizer.model (ModelProto). Only the fields the encoder needs
// are kept; everything else is skipped by wire type. Field numbers: sentencepiece_model.proto.
#include "tokenizer/sentencepiece_model.h"

#include <cstring>
#include <string_view>

#include "core/mapped_file.h"

namespace kaiyuan {
namespace {

// Protobuf wire types (protobuf encoding guide); groups (3, 4) are not used by ModelProto.
constexpr uint32_t kWireVarint = 0;
constexpr uint32_t kWireFixed64 = 1;
constexpr uint32_t kWireLengthDelimited = 2;
constexpr uint32_t kWireFixed32 = 5;

// One field as read from the wire; `bytes` is set for length-delimited fields.
struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  uint64_t varint = 0;
  uint32_t fixed32 = 0;
  std::string_view bytes;
};

// Reads the fields of one message in order, never past its end.
class ProtoReader {
 public:
  explicit ProtoReader(std::string_view message) : data_(message) {}
  bool done() const { return pos_ >= data_.size(); }
  size_t position() const { return pos_; }

  Status next(Field* field) {
    uint64_t key = 0;
    KY_RETURN_IF_ERROR(read_varint(&key));
    field->number = static_cast<uint32_t>(key >> 3);
    field->wire_type = static_cast<uint32_t>(key & 7);
    if (key >> 3 == 0 || key >> 3 > 0x1fffffff) return Error("invalid field number " + std::to_string(key >> 3));
    switch (field->wire_type) {
      case kWireVarint:
        return read_varint(&field->varint);
      case kWireFixed64:
        return skip(8);
      case kWireFixed32: {
        if (data_.size() - pos_ < 4) return Error("truncated fixed32 field " + std::to_string(field->number));
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
        field->fixed32 = v;
        pos_ += 4;
        return Status::ok();
      }
      case kWireLengthDelimited: {
        uint64_t length = 0;
        KY_RETURN_IF_ERROR(read_varint(&length));
        if (length > data_.size() - pos_) {
          return Error("field " + std::to_string(field->number) + " length " + std::to_string(length) +
                       " runs past the end of its message");
        }
        field->bytes = data_.substr(pos_, static_cast<size_t>(length));
        pos_ += static_cast<size_t>(length);
        return Status::ok();
      }
      default:
        return Error("unsupported wire type " + std::to_string(field->wire_type) + " for field " +
                     std::to_string(field->number));
    }
  }

 private:
  Status read_varint(uint64_t* out) {
    uint64_t value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ >= data_.size()) return Error("truncated varint");
      const uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
      if (shift == 63 && (byte & 0x7e) != 0) return Error("varint overflows 64 bits");
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *out = value;
        return Status::ok();
      }
    }
    return Error("varint longer than 10 bytes");
  }
  Status skip(size_t n) {
    if (data_.size() - pos_ < n) return Error("truncated field");
    pos_ += n;
    return Status::ok();
  }

  std::string_view data_;
  size_t pos_ = 0;
};

// proto int32 fields are sign-extended to 64 bits on the wire (-1 is ten bytes).
int32_t as_int32(uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

Status expect_wire(const Field& f, uint32_t wire_type, const char* name) {
  if (f.wire_type == wire_type) return Status::ok();
  return Error(std::string(name) + " (field " + std::to_string(f.number) + ") has wire type " +
               std::to_string(f.wire_type) + ", expected " + std::to_string(wire_type));
}

Status parse_piece(std::string_view message, SentencePieceModel::Piece* piece) {
  ProtoReader reader(message);
  Field f;
  while (!reader.done()) {
    KY_RETURN_IF_ERROR(reader.next(&f));
    if (f.number == 1) {  // string piece
      KY_RETURN_IF_ERROR(expect_wire(f, kWireLengthDelimited, "piece"));
      piece->piece.assign(f.bytes);
    } else if (f.number == 2) {  // float score
      KY_RETURN_IF_ERROR(expect_wire(f, kWireFixed32, "score"));
      std::memcpy(&piece->score, &f.fixed32, sizeof(float));
    } else if (f.number == 3) {  // Type type
      KY_RETURN_IF_ERROR(expect_wire(f, kWireVarint, "type"));
      const int32_t t = as_int32(f.varint);
      if (t < 1 || t > 6) return Error("unknown piece type " + std::to_string(t));
      piece->type = static_cast<SpmPieceType>(t);
    }
  }
  return Status::ok();
}

Status parse_trainer_spec(std::string_view message, SentencePieceModel* model) {
  ProtoReader reader(message);
  Field f;
  while (!reader.done()) {
    KY_RETURN_IF_ERROR(reader.next(&f));
    const bool is_varint = f.wire_type == kWireVarint;
    switch (f.number) {
      case 3:  // ModelType model_type
        KY_RETURN_IF_ERROR(expect_wire(f, kWireVarint, "model_type"));
        model->model_type = static_cast<SentencePieceModel::ModelType>(as_int32(f.varint));
        break;
      case 24: if (is_varint) model->treat_whitespace_as_suffix = f.varint != 0; break;
      case 35: if (is_varint) model->byte_fallback = f.varint != 0; break;
      case 40: if (is_varint) model->unk_id = as_int32(f.varint); break;
      case 41: if (is_varint) model->bos_id = as_int32(f.varint); break;
      case 42: if (is_varint) model->eos_id = as_int32(f.varint); break;
      case 43: if (is_varint) model->pad_id = as_int32(f.varint); break;
      default: break;
    }
  }
  return Status::ok();
}

Status parse_normalizer_spec(std::string_view message, SentencePieceModel* model) {
  ProtoReader reader(message);
  Field f;
  while (!reader.done()) {
    KY_RETURN_IF_ERROR(reader.next(&f));
    const bool is_varint = f.wire_type == kWireVarint;
    const bool is_bytes = f.wire_type == kWireLengthDelimited;
    switch (f.number) {
      case 1: if (is_bytes) model->normalizer_name.assign(f.bytes); break;
      case 2: if (is_bytes) model->precompiled_charsmap.assign(f.bytes); break;
      case 3: if (is_varint) model->add_dummy_prefix = f.varint != 0; break;
      case 4: if (is_varint) model->remove_extra_whitespaces = f.varint != 0; break;
      case 5: if (is_varint) model->escape_whitespaces = f.varint != 0; break;
      default: break;
    }
  }
  return Status::ok();
}

Status parse_model(std::string_view data, SentencePieceModel* model) {
  ProtoReader reader(data);
  Field f;
  while (!reader.done()) {
    const size_t at = reader.position();
    KY_RETURN_IF_ERROR(reader.next(&f).with_context("byte " + std::to_string(at)));
    if (f.number == 1) {
      KY_RETURN_IF_ERROR(expect_wire(f, kWireLengthDelimited, "pieces"));
      SentencePieceModel::Piece piece;
      const std::string where = "piece " + std::to_string(model->pieces.size());
      KY_RETURN_IF_ERROR(parse_piece(f.bytes, &piece).with_context(where));
      model->pieces.push_back(std::move(piece));
    } else if (f.number == 2) {
      KY_RETURN_IF_ERROR(expect_wire(f, kWireLengthDelimited, "trainer_spec"));
      KY_RETURN_IF_ERROR(parse_trainer_spec(f.bytes, model).with_context("trainer_spec"));
    } else if (f.number == 3) {
      KY_RETURN_IF_ERROR(expect_wire(f, kWireLengthDelimited, "normalizer_spec"));
      KY_RETURN_IF_ERROR(parse_normalizer_spec(f.bytes, model).with_context("normalizer_spec"));
    }
  }
  if (model->pieces.empty()) return Error("no pieces (not a SentencePiece model?)");
  return Status::ok();
}

}  // namespace

Result<SentencePieceModel> parse_sentencepiece_model(const uint8_t* data, size_t size, const std::string& label) {
  SentencePieceModel model;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  KY_RETURN_IF_ERROR(parse_model(bytes, &model).with_context(label));
  return model;
}

Result<SentencePieceModel> read_sentencepiece_model(const std::string& path) {
  KY_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  return parse_sentencepiece_model(file.data(), file.size(), path);
}

}  // namespace kaiyuan
