-- The seed's "Insert default data": a few quick replies an agent can use on day one.
INSERT INTO whatsapp_quick_messages (shortcut, message_text, description) VALUES
  ('ola', '{saudacao}, {primeiro_nome}! Aqui é {atendente}, da Avaliatec. Como posso ajudar?', 'Saudação inicial'),
  ('aguarde', 'Um momento, {primeiro_nome}, estou verificando e já retorno.', 'Pedir para aguardar'),
  ('horario', 'Nosso atendimento funciona de segunda a sexta, das 08:00 às 18:00.', 'Horário de atendimento'),
  ('obrigado', 'Obrigado pelo contato, {primeiro_nome}! Qualquer dúvida, estamos à disposição.', 'Encerramento'),
  ('documentos', 'Para seguirmos, por favor envie uma foto do documento com CPF e um comprovante de endereço.', 'Solicitar documentos')
ON CONFLICT (shortcut) DO NOTHING;
