/*===- Parser.y - Bison grammar for .mask files ---------------------------===*/
%require "3.8"
%language "c++"
%define api.namespace {maskjit::dsl::detail}
%define api.parser.class {Parser}
%define api.token.constructor
%define api.value.type variant
%define api.location.type {maskjit::dsl::Location}
%define api.token.prefix {TOK_}
%define parse.error custom
%define parse.assert
%locations
%param {ParseContext &ctx}

%code requires {
#include "maskjit/dsl/Ast.h"
namespace maskjit::dsl::detail { struct ParseContext; }
}

%code {
#include "ParseContext.h"

#include <utility>

maskjit::dsl::detail::Parser::symbol_type
maskjit_lex(void *scanner, maskjit::dsl::detail::ParseContext &ctx);

namespace maskjit::dsl::detail {
namespace {

Parser::symbol_type yylex(ParseContext &ctx) { return maskjit_lex(ctx.scanner, ctx); }

ExprPtr limitDepth(ParseContext &ctx, ExprPtr e) {
  uint32_t d = 0;
  for (const ExprPtr &c : e->operands)
    d = std::max(d, c ? c->depth : 0u);
  e->depth = d + 1;
  if (e->depth <= kMaxExprDepth)
    return e;
  if (!ctx.reportedDepth) {
    ctx.reportedDepth = true;
    ctx.diags.error(e->loc, "expression is nested too deeply (the limit is " +
                                std::to_string(kMaxExprDepth) + " levels)");
  }
  auto err = std::make_unique<Expr>(ExprKind::Error, e->loc);
  err->depth = kMaxExprDepth;
  return err;
}

ExprPtr leaf(ExprKind kind, const Location &loc) {
  return std::make_unique<Expr>(kind, loc);
}

ExprPtr unary(ParseContext &ctx, Op op, ExprPtr a, const Location &loc) {
  auto e = std::make_unique<Expr>(ExprKind::Unary, loc);
  e->op = op;
  e->operands.push_back(std::move(a));
  return limitDepth(ctx, std::move(e));
}

ExprPtr binary(ParseContext &ctx, Op op, ExprPtr a, ExprPtr b, const Location &loc) {
  auto e = std::make_unique<Expr>(ExprKind::Binary, loc);
  e->op = op;
  e->operands.push_back(std::move(a));
  e->operands.push_back(std::move(b));
  return limitDepth(ctx, std::move(e));
}

struct Arg {
  std::string name;
  Location nameLoc;
  ExprPtr value;
};

} // namespace
} // namespace maskjit::dsl::detail
}

%code requires {
namespace maskjit::dsl::detail {
struct CallArgs {
  std::vector<std::string> names;
  std::vector<Location> nameLocs;
  std::vector<ExprPtr> values;
};
struct Body {
  std::vector<LetDecl> lets;
  ExprPtr expr;
  std::vector<HeadArm> arms;
};
}
}

%token END 0 "end of file"
%token PATTERN "pattern" IMPORT "import" LET "let" IF "if" THEN "then" ELSE "else"
%token AND "and" OR "or" NOT "not" IN "in" TRUE "true" FALSE "false"
%token CAUSAL "causal" HEADS "heads" INT "int" BOOL "bool" RUNTIME "runtime"
%token EQ "==" NE "!=" LT "<" LE "<=" GT ">" GE ">=" ASSIGN "=" ARROW "=>"
%token PLUS "+" MINUS "-" STAR "*" SLASH "/" PERCENT "%"
%token LPAREN "(" CALL_LPAREN "call (" RPAREN ")" LBRACKET "[" RBRACKET "]"
%token LBRACE "{" RBRACE "}" COMMA "," COLON ":" DOTDOT ".."
%token <int64_t> INTLIT "integer"
%token <std::string> IDENT "identifier"
%token <std::string> STRING "string"

%type <ExprPtr> expr primary opt_default
%type <std::unique_ptr<PatternDecl>> pattern
%type <std::vector<ParamDecl>> opt_params param_list
%type <ParamDecl> param
%type <std::pair<Type, bool>> type
%type <Type> base_type
%type <bool> opt_runtime
%type <Body> body lets
%type <LetDecl> let
%type <std::vector<HeadArm>> arms
%type <HeadArm> arm
%type <CallArgs> args arg

%precedence IFELSE
%left OR
%left AND
%precedence NOT
%nonassoc EQ NE LT LE GT GE IN
%left PLUS MINUS
%left STAR SLASH PERCENT
%precedence UMINUS

/* A `let` value followed by a body that starts with `-` continues the let:
   `let a = b  - c < 0` is `let a = b - c`, then `< 0` is an error. This is
   the one expected conflict. */
%expect 1

%start file

%%

file
  : %empty
  | file toplevel
  ;

toplevel
  : IMPORT STRING {
      ctx.module.imports.push_back(ImportDecl{$2, @$});
    }
  | pattern { if ($1) ctx.module.patterns.push_back(std::move($1)); }
  | error RBRACE
  | IMPORT error
  ;

any_lparen : LPAREN | CALL_LPAREN ;

pattern
  : PATTERN IDENT opt_params LBRACE body RBRACE {
      auto p = std::make_unique<PatternDecl>();
      p->name = $2;
      p->loc = @2;
      p->params = std::move($3);
      p->lets = std::move($5.lets);
      p->body = std::move($5.expr);
      p->arms = std::move($5.arms);
      $$ = std::move(p);
    }
  | PATTERN IDENT opt_params LBRACE error RBRACE { $$ = nullptr; }
  ;

opt_params
  : %empty {}
  | any_lparen RPAREN {}
  | any_lparen param_list RPAREN { $$ = std::move($2); }
  | any_lparen param_list COMMA RPAREN { $$ = std::move($2); }
  ;

param_list
  : param { $$.push_back(std::move($1)); }
  | param_list COMMA param { $$ = std::move($1); $$.push_back(std::move($3)); }
  ;

param
  : IDENT COLON type opt_default {
      $$.name = $1;
      $$.loc = @1;
      $$.type = $3.first;
      $$.runtime = $3.second;
      $$.defaultValue = std::move($4);
    }
  ;

type
  : opt_runtime base_type { $$ = {$2, $1}; }
  ;

opt_runtime
  : %empty { $$ = false; }
  | RUNTIME { $$ = true; }
  ;

base_type
  : INT { $$ = Type::Int; }
  | BOOL { $$ = Type::Bool; }
  | INT LBRACKET RBRACKET { $$ = Type::IntArray; }
  | INT LBRACKET HEADS RBRACKET { $$ = Type::HeadArray; }
  ;

opt_default
  : %empty { $$ = nullptr; }
  | ASSIGN expr { $$ = std::move($2); }
  ;

body
  : lets expr { $$ = std::move($1); $$.expr = std::move($2); }
  | lets arms { $$ = std::move($1); $$.arms = std::move($2); }
  ;

lets
  : %empty {}
  | lets let { $$ = std::move($1); $$.lets.push_back(std::move($2)); }
  ;

let
  : LET IDENT ASSIGN expr { $$.name = $2; $$.loc = @2; $$.value = std::move($4); }
  ;

arms
  : arm { $$.push_back(std::move($1)); }
  | arms arm { $$ = std::move($1); $$.push_back(std::move($2)); }
  ;

arm
  : HEADS INTLIT ARROW expr {
      $$.loc = @2; $$.first = $2; $$.last = $2; $$.body = std::move($4);
    }
  | HEADS INTLIT DOTDOT INTLIT ARROW expr {
      $$.loc = @2 ; $$.loc.end = @4.end;
      $$.first = $2; $$.last = $4; $$.body = std::move($6);
    }
  | HEADS INTLIT DOTDOT ARROW expr {
      $$.loc = @2; $$.loc.end = @3.end;
      $$.first = $2; $$.body = std::move($5);
    }
  ;

expr
  : IF expr THEN expr ELSE expr %prec IFELSE {
      auto e = std::make_unique<Expr>(ExprKind::If, @$);
      e->operands.push_back(std::move($2));
      e->operands.push_back(std::move($4));
      e->operands.push_back(std::move($6));
      $$ = limitDepth(ctx, std::move(e));
    }
  | expr OR expr  { $$ = binary(ctx, Op::Or, std::move($1), std::move($3), @2); }
  | expr AND expr { $$ = binary(ctx, Op::And, std::move($1), std::move($3), @2); }
  | NOT expr      { $$ = unary(ctx, Op::Not, std::move($2), @1); }
  | expr EQ expr  { $$ = binary(ctx, Op::Eq, std::move($1), std::move($3), @2); }
  | expr NE expr  { $$ = binary(ctx, Op::Ne, std::move($1), std::move($3), @2); }
  | expr LT expr  { $$ = binary(ctx, Op::Lt, std::move($1), std::move($3), @2); }
  | expr LE expr  { $$ = binary(ctx, Op::Le, std::move($1), std::move($3), @2); }
  | expr GT expr  { $$ = binary(ctx, Op::Gt, std::move($1), std::move($3), @2); }
  | expr GE expr  { $$ = binary(ctx, Op::Ge, std::move($1), std::move($3), @2); }
  | expr IN expr  { $$ = binary(ctx, Op::In, std::move($1), std::move($3), @2); }
  | expr PLUS expr    { $$ = binary(ctx, Op::Add, std::move($1), std::move($3), @2); }
  | expr MINUS expr   { $$ = binary(ctx, Op::Sub, std::move($1), std::move($3), @2); }
  | expr STAR expr    { $$ = binary(ctx, Op::Mul, std::move($1), std::move($3), @2); }
  | expr SLASH expr   { $$ = binary(ctx, Op::Div, std::move($1), std::move($3), @2); }
  | expr PERCENT expr { $$ = binary(ctx, Op::Mod, std::move($1), std::move($3), @2); }
  | MINUS expr %prec UMINUS { $$ = unary(ctx, Op::Neg, std::move($2), @1); }
  | primary { $$ = std::move($1); }
  ;

primary
  : INTLIT { $$ = leaf(ExprKind::IntLit, @1); $$->intValue = $1; }
  | TRUE   { $$ = leaf(ExprKind::BoolLit, @1); $$->intValue = 1; }
  | FALSE  { $$ = leaf(ExprKind::BoolLit, @1); $$->intValue = 0; }
  | CAUSAL { $$ = leaf(ExprKind::Causal, @1); }
  | IDENT  { $$ = leaf(ExprKind::Name, @1); $$->name = $1; }
  | IDENT CALL_LPAREN RPAREN {
      $$ = leaf(ExprKind::Call, @1); $$->name = $1;
    }
  | IDENT CALL_LPAREN args RPAREN {
      auto e = std::make_unique<Expr>(ExprKind::Call, @1);
      e->name = $1;
      e->operands = std::move($3.values);
      e->argNames = std::move($3.names);
      e->argNameLocs = std::move($3.nameLocs);
      $$ = limitDepth(ctx, std::move(e));
    }
  | primary LBRACKET expr RBRACKET {
      auto e = std::make_unique<Expr>(ExprKind::Index, @$);
      e->operands.push_back(std::move($1));
      e->operands.push_back(std::move($3));
      $$ = limitDepth(ctx, std::move(e));
    }
  | LPAREN expr RPAREN { $$ = std::move($2); }
  ;

args
  : arg { $$ = std::move($1); }
  | args COMMA arg {
      $$ = std::move($1);
      $$.names.push_back(std::move($3.names[0]));
      $$.nameLocs.push_back($3.nameLocs[0]);
      $$.values.push_back(std::move($3.values[0]));
    }
  ;

arg
  : expr {
      $$.names.emplace_back(); $$.nameLocs.emplace_back();
      $$.values.push_back(std::move($1));
    }
  | IDENT ASSIGN expr {
      $$.names.push_back($1); $$.nameLocs.push_back(@1);
      $$.values.push_back(std::move($3));
    }
  ;

%%

namespace maskjit::dsl::detail {

void Parser::error(const location_type &loc, const std::string &msg) {
  ctx.diags.error(loc, msg);
}

namespace {
std::string quoteToken(Parser::symbol_kind_type kind) {
  using K = Parser::symbol_kind;
  switch (kind) {
  case K::S_INTLIT: return "integer";
  case K::S_IDENT: return "identifier";
  case K::S_STRING: return "string";
  case K::S_YYEOF: return "end of file";
  case K::S_CALL_LPAREN: return "`(`";
  default: break;
  }
  std::string n = Parser::symbol_name(kind);
  if (n.size() >= 2 && n.front() == '"' && n.back() == '"')
    n = n.substr(1, n.size() - 2);
  return "`" + n + "`";
}
} // namespace

void Parser::report_syntax_error(const context &yyctx) const {
  std::string msg;
  symbol_kind_type look = yyctx.token();
  if (look == symbol_kind::S_YYEOF)
    msg = "unexpected end of file";
  else
    msg = "unexpected " + quoteToken(look);
  symbol_kind_type expected[64];
  int n = yyctx.expected_tokens(expected, 64);
  std::vector<std::string> names;
  bool sawLparen = false;
  for (int i = 0; i < n; ++i) {
    if (expected[i] == symbol_kind::S_LPAREN || expected[i] == symbol_kind::S_CALL_LPAREN) {
      if (sawLparen) continue;
      sawLparen = true;
    }
    names.push_back(quoteToken(expected[i]));
  }
  bool wantsExpr = false;
  for (int i = 0; i < n; ++i)
    wantsExpr |= expected[i] == symbol_kind::S_INTLIT || expected[i] == symbol_kind::S_CAUSAL;
  if (wantsExpr && (n == 0 || n >= 8 || names.size() > 5)) {
    msg += "; expected an expression";
  } else if (!names.empty() && names.size() <= 5) {
    msg += "; expected ";
    for (size_t i = 0; i < names.size(); ++i) {
      if (i) msg += (i + 1 == names.size()) ? " or " : ", ";
      msg += names[i];
    }
  }
  Diagnostic &d = ctx.diags.error(yyctx.location(), msg);
  if (look == symbol_kind::S_LPAREN && ctx.curIsSpacedParen)
    d.message += " (a call needs its `(` right after the name, without a space)";
  if (look == symbol_kind::S_LT || look == symbol_kind::S_LE || look == symbol_kind::S_GT ||
      look == symbol_kind::S_GE || look == symbol_kind::S_EQ || look == symbol_kind::S_NE ||
      look == symbol_kind::S_IN)
    d.message += " (comparisons cannot be chained; join them with `and`)";
}

} // namespace maskjit::dsl::detail
